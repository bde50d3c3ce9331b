import type { CapabilityClaims } from './capabilityClaims';

/** Tokens already authenticated, by their exact string, with their claims. */
export type VerifiedTokenCache = {
  get(token: string): CapabilityClaims | undefined;
  remember(token: string, claims: CapabilityClaims): void;
};

/**
 * A bounded map of authenticated tokens (oldest dropped first), so a capability's signature is checked once
 * rather than per call. Keyed by the exact token string: any altered byte is a different key and is
 * authenticated afresh. Only authenticity is cached; expiry, counts and revocation are checked per call.
 *
 * @example
 * const cache = createVerifiedTokenCache(100_000);
 * const claims = cache.get(token) ?? verifyAndRemember(token);
 */
export function createVerifiedTokenCache(size: number): VerifiedTokenCache {
  const verified = new Map<string, CapabilityClaims>();
  return {
    get: (token) => verified.get(token),
    remember(token, claims) {
      if (size <= 0) return;
      if (verified.size >= size) {
        const oldest = verified.keys().next();
        if (!oldest.done) verified.delete(oldest.value);
      }
      verified.set(token, claims);
    },
  };
}
