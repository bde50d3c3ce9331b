import { hmacSha256 } from '../core/cryptoPrimitives';
import { ConfigurationError } from '../core/errors';
import {
  addFirstPartyCaveat,
  createMacaroon,
  firstPartyCaveats,
  macaroonFromBase64,
  serializeMacaroonV2,
  verifyMacaroonSignature,
  type Macaroon,
} from '../protocol/macaroon';
import { CapabilityClaimsSchema, type CapabilityClaims } from './capabilityClaims';
import type { CapabilityToken, ReadCapabilityResult } from './capabilityToken';
import {
  CAPABILITY_MACAROON_LOCATION,
  capabilityMacaroonIdentifier,
  claimsFromCaveats,
  claimsToCaveats,
} from './macaroonCapabilityCaveats';
import { createVerifiedTokenCache } from './verifiedTokenCache';

/** Parameters of {@link macaroonCapabilityToken}. */
export type MacaroonCapabilityTokenParameters = {
  /** Secret root key, ≥ 32 bytes (each capability signs with HMAC-SHA256(rootKey, its identifier)). Never log it. */
  rootKey: Uint8Array;
  /** Verified tokens remembered so a macaroon's chain is checked once, not per call (default 100,000). */
  cacheSize?: number;
};

/** Every capability macaroon starts with these characters: V2 version byte, then its location field. */
const PREFIX = Buffer.concat([
  Buffer.from([2, 1, CAPABILITY_MACAROON_LOCATION.length]),
  Buffer.from(CAPABILITY_MACAROON_LOCATION),
]).toString('base64url');
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Capability credentials as macaroons (V2 binary, base64url without padding), the Lightning-native form:
 * identifier `v1:<jti>`, location `x402-capability`, and one first-party caveat per claim (`iss=`, `sub=`,
 * `routes=`, `methods=`, `calls=`, `amount_cap=`, `rate_limit=`, `iat=`, `exp=`, `receipt=`, `rail=`).
 * Like any macaroon it can be attenuated by its holder without the server: appending `exp=<earlier>`,
 * `routes=[…]` or `methods=…` narrows it before handing it to someone else. Unknown caveats are refused.
 *
 * @example
 * const format = macaroonCapabilityToken({ rootKey: randomBytes(32) });
 * const ext = capabilities({ token: capabilityTokenByRail({ default: jws, rails: { 'lightning-l402': format } }), grants });
 */
export function macaroonCapabilityToken(parameters: MacaroonCapabilityTokenParameters): CapabilityToken {
  if (parameters.rootKey.length < 32)
    throw new ConfigurationError('The capability macaroon root key must be at least 32 bytes.');
  const rootKey = new Uint8Array(parameters.rootKey);
  const keyOf = (identifier: Uint8Array) => hmacSha256(rootKey, identifier);
  const verified = createVerifiedTokenCache(parameters.cacheSize ?? 100_000);
  const recognizes = isCapabilityMacaroon;

  return {
    format: 'macaroon',
    recognizes,
    async issue(claims) {
      const checked = CapabilityClaimsSchema.parse(claims);
      const identifier = capabilityMacaroonIdentifier(checked.jti);
      let macaroon = createMacaroon({
        rootKey: keyOf(Buffer.from(identifier)),
        identifier,
        location: CAPABILITY_MACAROON_LOCATION,
      });
      for (const caveat of claimsToCaveats(checked)) macaroon = addFirstPartyCaveat(macaroon, caveat);
      const token = encode(macaroon);
      verified.remember(token, checked);
      return token;
    },
    async read(token): Promise<ReadCapabilityResult> {
      const cached = verified.get(token);
      if (cached) return { ok: true, claims: cached };
      const macaroon = decode(token);
      if (macaroon === undefined)
        return {
          ok: false,
          reason: 'malformed',
          message: 'The capability is not a base64url V2 macaroon of location x402-capability.',
        };
      if (!verifyMacaroonSignature(macaroon, keyOf(macaroon.identifier))) {
        return {
          ok: false,
          reason: 'capability_invalid',
          message: 'The capability macaroon signature does not verify: it was forged or altered.',
        };
      }
      const read = claimsFromCaveats(Buffer.from(macaroon.identifier).toString('utf8'), firstPartyCaveats(macaroon));
      if (!read.ok) return { ok: false, reason: 'capability_invalid', message: read.message };
      verified.remember(token, read.claims);
      return { ok: true, claims: read.claims };
    },
  };
}

/** True when `token` looks like a capability macaroon (prefix and alphabet only; nothing verified). */
export function isCapabilityMacaroon(token: string): boolean {
  return token.startsWith(PREFIX) && BASE64URL.test(token);
}

/**
 * The claims of a capability macaroon **without checking its signature**: for a client choosing which of
 * its capabilities covers a request. A server must use {@link macaroonCapabilityToken}'s `read`.
 *
 * @example const exp = peekMacaroonCapabilityClaims(token)?.exp;
 */
export function peekMacaroonCapabilityClaims(token: string): CapabilityClaims | undefined {
  const macaroon = decode(token);
  if (macaroon === undefined) return undefined;
  const read = claimsFromCaveats(Buffer.from(macaroon.identifier).toString('utf8'), firstPartyCaveats(macaroon));
  return read.ok ? read.claims : undefined;
}

/** base64url (no padding) of the V2 binary form. */
function encode(macaroon: Macaroon): string {
  return Buffer.from(serializeMacaroonV2(macaroon)).toString('base64url');
}

function decode(token: string): Macaroon | undefined {
  if (!isCapabilityMacaroon(token)) return undefined;
  try {
    const macaroon = macaroonFromBase64(token);
    return macaroon.location === CAPABILITY_MACAROON_LOCATION ? macaroon : undefined;
  } catch {
    return undefined;
  }
}
