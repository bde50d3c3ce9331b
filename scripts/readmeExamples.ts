/**
 * README code blocks that quote a file of examples/: a block right after `<!-- example: examples/<file> -->` must be
 * that file, verbatim. `npm run readme:examples` rewrites every such block from its file; the unit test
 * test/unit/readmeExamples.test.ts fails when one drifted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One quoting block of the README: the file it names, what the block holds and what the file holds. */
export type ReadmeExample = { file: string; quoted: string; actual: string; start: number; end: number };

/** The marker, then the fenced block right after it (its body never crosses a fence). */
const MARKER = /<!-- example: (examples\/[\w./-]+) -->\n```(\w+)\n((?:(?!```)[\s\S])*?)\n?```/g;
const root = fileURLToPath(new URL('..', import.meta.url));

/** Every quoting block of `readme`, with the current content of the file it names. */
export function readmeExamples(readme: string): ReadmeExample[] {
  return [...readme.matchAll(MARKER)].map((m) => ({
    file: m[1] ?? '',
    quoted: m[3] ?? '',
    actual: readFileSync(`${root}${m[1]}`, 'utf8').trimEnd(),
    start: m.index,
    end: m.index + m[0].length,
  }));
}

/** `readme` with every quoting block replaced by its file. */
export function syncReadmeExamples(readme: string): string {
  let out = '';
  let at = 0;
  for (const { file, actual, start, end } of readmeExamples(readme)) {
    const lang = file.endsWith('.ts') ? 'ts' : 'sh';
    out += `${readme.slice(at, start)}<!-- example: ${file} -->\n\`\`\`${lang}\n${actual}\n\`\`\``;
    at = end;
  }
  return out + readme.slice(at);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = `${root}README.md`;
  const readme = readFileSync(path, 'utf8');
  const synced = syncReadmeExamples(readme);
  if (synced !== readme) writeFileSync(path, synced);
  console.log(
    `${readmeExamples(synced).length} README blocks quote examples/${synced === readme ? '' : ' (rewritten)'}.`,
  );
}
