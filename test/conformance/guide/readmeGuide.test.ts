/**
 * The README's "Writing a rail adapter" shows these two files verbatim (with the package's import paths), so
 * the guide's code is the code the kit runs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** A repository file as a package user would write it. */
function asPublished(source: string): string {
  return source
    .replaceAll("'../../../src/testing/index'", "'x402-rails/testing'")
    .replaceAll("'../../../src/index'", "'x402-rails'")
    .trim();
}

function guideBlocks(): string[] {
  const readme = read('../../../README.md');
  const start = readme.indexOf('## Writing a rail adapter');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => (m[1] ?? '').trim());
}

describe('README: Writing a rail adapter', () => {
  it('shows ledgerRail.ts and its conformance test exactly as they are tested', () => {
    expect(guideBlocks()).toEqual([
      asPublished(read('./ledgerRail.ts')),
      asPublished(read('./ledger.conformance.test.ts')),
    ]);
  });
});
