/**
 * README snippets are quotes of examples/, which test/examples runs and pays: every block marked
 * `<!-- example: examples/<file> -->` is that file verbatim (`npm run readme:examples` rewrites them), and the
 * sections that show the API quote the server, its settings and the client.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readmeExamples } from '../../scripts/readmeExamples';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const examples = readmeExamples(readme);

describe('README examples', () => {
  it.each(examples.map((e) => [e.file, e] as const))('the block quoting %s is the file', (_file, example) => {
    expect(example.quoted, `README drifted from ${example.file}: run npm run readme:examples`).toBe(example.actual);
  });

  it('quotes the server, its settings and the client, and links every example', () => {
    expect(examples.map((e) => e.file)).toEqual(
      expect.arrayContaining(['examples/evmSettings.ts', 'examples/hono-server.ts', 'examples/client.ts']),
    );
    for (const file of readdirSync(new URL('../../examples', import.meta.url)))
      expect(readme, `README does not mention examples/${file}`).toContain(`examples/${file}`);
  });
});
