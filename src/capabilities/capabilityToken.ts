import type { CapabilityClaims } from './capabilityClaims';

/** Why a presented capability was refused. Stable snake_case codes, sent in `X402-Capability-Error`. */
export type CapabilityRefusal =
  | 'capability_invalid'
  | 'capability_expired'
  | 'capability_revoked'
  | 'capability_exhausted'
  | 'capability_unknown'
  | 'capability_wrong_scope'
  | 'capability_wrong_issuer'
  | 'capability_denied';

/** What a token format reads out of a presented token. */
export type ReadCapabilityResult =
  | { ok: true; claims: CapabilityClaims }
  /** Well-formed but not authentic (forged, altered, signed by another key). */
  | { ok: false; reason: CapabilityRefusal; message: string }
  /** Not a token of this format at all, or broken beyond reading: answer 400. */
  | { ok: false; reason: 'malformed'; message: string };

/**
 * One abstraction over capability credential formats: a compact JWS signed with an Ed25519 key
 * ({@link jwsCapabilityToken}) or a macaroon whose caveats carry the claims ({@link macaroonCapabilityToken},
 * the Lightning-native form). The extension issues and reads tokens only through this interface; the format
 * never decides scope, counts or revocation (the extension and the store do).
 *
 * @example
 * const format: CapabilityToken = await jwsCapabilityToken({ privateJwk });
 * const token = await format.issue(claims);
 * const read = await format.read(token); // { ok: true, claims }
 */
export interface CapabilityToken {
  /** Short name of the format, e.g. `jws` or `macaroon`. */
  readonly format: string;
  /** Cheap syntactic test: does `token` look like one of this format (so a foreign Bearer token is left alone)? */
  recognizes(token: string): boolean;
  /** Signs claims into a token string (header-safe: no spaces, commas or newlines). */
  issue(claims: CapabilityClaims): Promise<string>;
  /** Authenticates a token and parses its claims. Never throws for bad input. */
  read(token: string): Promise<ReadCapabilityResult>;
}
