import { readFile } from 'node:fs/promises';
import { CliError, codeOf } from './errors';

/**
 * Reads a JSON document given on the command line: a file path, or `-` for stdin. Failures are
 * {@link CliError}s that name what was being read (`what`, e.g. "receipt") and the path, never the content.
 *
 * @example const json = await readJsonInput('receipt.json', 'receipt');
 */
export async function readJsonInput(source: string, what: string): Promise<unknown> {
  const where = source === '-' ? 'stdin' : source;
  let text: string;
  if (source === '-') text = Buffer.from(await readStdin()).toString('utf8');
  else {
    try {
      text = await readFile(source, 'utf8');
    } catch (cause) {
      throw new CliError(`Cannot read the ${what} file ${source}: ${codeOf(cause) ?? 'unreadable'}.`);
    }
  }
  return parseJsonText(text, `The ${what} from ${where}`);
}

/**
 * Parses JSON text; on failure throws a {@link CliError} "`subject` is not valid JSON." without echoing the text.
 *
 * @example parseJsonText(await response.text(), 'The JWKS at https://…')
 */
export function parseJsonText(text: string, subject: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${subject} is not valid JSON.`);
  }
}

/**
 * Reads all of stdin.
 *
 * @example const body = await readStdin();
 */
export async function readStdin(): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}
