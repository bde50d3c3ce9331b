import { ReceiptInvalidError } from '../core/errors';
import { RECEIPT_JWKS_PATH } from '../core/receipt/receipt';
import type { ReceiptJwks } from '../core/receipt/signer';
import { parseBoundedJson } from '../protocol/jsonCodec';

/** Fetches and caches issuers' receipt JWKS by origin. */
export type JwksCache = { get(origin: string): Promise<ReceiptJwks> };

/** Creates a JWKS cache over `fetchImpl` (entries live `ttlMs`, default 5 minutes). */
export function createJwksCache(fetchImpl: (url: string) => Promise<Response>, ttlMs = 300_000): JwksCache {
  const cache = new Map<string, { at: number; jwks: Promise<ReceiptJwks> }>();
  return {
    get(origin) {
      const hit = cache.get(origin);
      if (hit && Date.now() - hit.at < ttlMs) return hit.jwks;
      const jwks = load(fetchImpl, origin);
      cache.set(origin, { at: Date.now(), jwks });
      jwks.catch(() => cache.delete(origin));
      return jwks;
    },
  };
}

async function load(fetchImpl: (url: string) => Promise<Response>, origin: string): Promise<ReceiptJwks> {
  const response = await fetchImpl(`${origin}${RECEIPT_JWKS_PATH}`);
  if (!response.ok)
    throw new ReceiptInvalidError(`The issuer ${origin} publishes no receipt JWKS (HTTP ${response.status}).`);
  const text = await response.text();
  const body = parseBoundedJson(text.slice(0, 64 * 1024), { what: 'JWKS' });
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
    throw new ReceiptInvalidError(`The JWKS of ${origin} is malformed.`);
  }
  return body as ReceiptJwks;
}
