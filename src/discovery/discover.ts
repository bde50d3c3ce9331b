import { MalformedInputError, errorCodes } from '../core/errors';
import type { FetchLike } from '../client/payingFetch';
import { parseWire } from '../protocol/headers';
import { parseBoundedJson } from '../protocol/jsonCodec';
import { DISCOVERY_PATHS, DiscoveryManifestSchema, type DiscoveryManifest } from './manifest';

/**
 * What an origin sells, without paying: its discovery manifest (`/.well-known/x402`, else `/.well-known/x402.json`),
 * parsed. Throws MalformedInputError when the origin publishes none or a malformed one.
 *
 * @example for (const item of (await discover('https://api.example.com')).items) console.log(item.resource.url, item.accepts);
 */
export async function discover(origin: string, options: { fetch?: FetchLike } = {}): Promise<DiscoveryManifest> {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const base = new URL(origin).origin;
  let last = 0;
  for (const path of DISCOVERY_PATHS) {
    const response = await doFetch(`${base}${path}`, { headers: { Accept: 'application/json' } });
    last = response.status;
    if (!response.ok) {
      await response.body?.cancel();
      continue;
    }
    const text = await response.text();
    if (text.length > 4 * 1024 * 1024)
      throw new MalformedInputError(
        errorCodes.HEADER_TOO_LARGE,
        `The discovery manifest of ${base} is larger than 4 MiB.`,
      );
    return parseWire(
      DiscoveryManifestSchema,
      parseBoundedJson(text, { what: 'discovery manifest' }),
      'The discovery manifest',
    );
  }
  throw new MalformedInputError(
    errorCodes.HEADER_SCHEMA,
    `${base} publishes no x402 discovery manifest (${DISCOVERY_PATHS.join(', ')} answered ${last}).`,
  );
}
