import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigurationError } from '../core/errors';

/** Checks `Authorization: Bearer <key>` against a fixed key list. */
export type BearerCheck = (authorization: string | null | undefined) => boolean;

/**
 * Builds a constant-time bearer-key check. Keys are kept only as SHA-256 digests, every key is compared
 * (no early exit on the first match), and nothing about the presented value is logged or echoed.
 *
 * @example
 * const check = bearerCheck(['k_live_…']);
 * check(request.headers.get('Authorization')); // true for "Bearer k_live_…"
 */
export function bearerCheck(apiKeys: readonly string[]): BearerCheck {
  if (apiKeys.some((k) => typeof k !== 'string' || k.length < 16)) {
    throw new ConfigurationError('Facilitator API keys must be strings of at least 16 characters.');
  }
  const digests = apiKeys.map(digest);
  return (authorization) => {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization ?? '');
    const presented = digest(match?.[1] ?? '');
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, presented) || ok;
    return ok && match !== null;
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
