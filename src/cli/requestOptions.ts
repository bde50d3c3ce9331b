import { readFile } from 'node:fs/promises';
import { UsageError } from './errors';
import { readStdin } from './readJsonInput';

/**
 * Turns curl-style `-X`, `-H` and `-d` flags into a `RequestInit`: `-H "Name: value"` (repeatable),
 * `-d <text>`, `-d @file`, `-d @-` (stdin); with a body and no `-X`, the method is POST.
 *
 * @example await requestInit('pay', { method: undefined, header: ['Accept: application/json'], data: '{"q":1}' })
 */
export async function requestInit(
  command: string,
  flags: { method?: string; header?: string[]; data?: string },
): Promise<RequestInit> {
  const headers = new Headers();
  for (const line of flags.header ?? []) {
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new UsageError(`-H "${line.slice(0, 40)}" is not a header: write "Name: value".`, command);
    try {
      headers.append(name, line.slice(colon + 1).trim());
    } catch {
      throw new UsageError(`-H ${name}: the value is not a valid header value.`, command);
    }
  }
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (flags.data !== undefined) {
    if (flags.data === '@-') body = await readStdin();
    else if (flags.data.startsWith('@')) {
      try {
        body = new Uint8Array(await readFile(flags.data.slice(1)));
      } catch {
        throw new UsageError(`-d ${flags.data}: cannot read that file.`, command);
      }
    } else body = flags.data;
  }
  const method = (flags.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(method)) throw new UsageError(`-X "${flags.method}" is not an HTTP method.`, command);
  if (body !== undefined && (method === 'GET' || method === 'HEAD'))
    throw new UsageError(`A ${method} request cannot carry -d data; add -X POST.`, command);
  return { method, headers, ...(body === undefined ? {} : { body }) };
}
