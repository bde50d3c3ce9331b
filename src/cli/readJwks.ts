import { z } from 'zod';
import type { ReceiptJwks } from '../core/receipt';
import { CliError } from './errors';
import { unreachable } from './fetchFailure';
import { parseJsonText, readJsonInput } from './readJsonInput';

const JwksSchema = z.object({ keys: z.array(z.object({ kty: z.string() }).passthrough()).min(1) }).passthrough();

/**
 * Reads a JWKS from an http(s) URL or a file. A bare origin (`https://api.example.com`) is taken as the issuer
 * and its well-known receipt JWKS path is fetched.
 *
 * @example const jwks = await readJwks('https://api.example.com/.well-known/x402-rails/jwks.json');
 */
export async function readJwks(source: string, wellKnownPath: string): Promise<ReceiptJwks> {
  let json: unknown;
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    if (url.pathname === '/' && url.search === '') url.pathname = wellKnownPath;
    let response: Response;
    try {
      response = await fetch(url, { headers: { Accept: 'application/json' } });
    } catch (cause) {
      throw unreachable(cause, url, 'The JWKS');
    }
    if (!response.ok) throw new CliError(`The JWKS at ${url.href} answered HTTP ${response.status}.`);
    json = parseJsonText(await response.text(), `The JWKS at ${url.href}`);
  } else json = await readJsonInput(source, 'JWKS');
  const parsed = JwksSchema.safeParse(json);
  if (!parsed.success) throw new CliError(`The JWKS from ${source} is not a JSON Web Key Set ({"keys": [ … ]}).`);
  return parsed.data as ReceiptJwks;
}
