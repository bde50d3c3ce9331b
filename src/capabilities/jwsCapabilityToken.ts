import { CompactSign, compactVerify, importJWK, type JWK } from 'jose';
import { canonicalJson, sha256Base64Url } from '../core/canonical';
import { ConfigurationError } from '../core/errors';
import { generateReceiptKey, type ReceiptJwks } from '../core/receipt/signer';
import { CapabilityClaimsSchema, type CapabilityClaims } from './capabilityClaims';
import type { CapabilityToken, ReadCapabilityResult } from './capabilityToken';
import { createVerifiedTokenCache } from './verifiedTokenCache';

/** JWS `typ` of a capability credential. */
export const CAPABILITY_JWS_TYPE = 'x402-capability+jws';

/** Parameters of {@link jwsCapabilityToken}. */
export type JwsCapabilityTokenParameters = {
  /**
   * Ed25519 private JWK (`kty: OKP`, `crv: Ed25519`, with `d`). Pass the receipt signer's key to sign
   * capabilities and receipts with one key; omit for an ephemeral key (capabilities die with the process).
   */
  privateJwk?: JWK;
  /** Verified tokens remembered so a token's signature is checked once, not per call (default 100,000). */
  cacheSize?: number;
};

/** A JWS capability format, with the public key it verifies under. */
export type JwsCapabilityToken = CapabilityToken & {
  readonly kid: string;
  /** The public JWKS, for clients or other services that verify capabilities offline. */
  jwks(): ReceiptJwks;
};

const COMPACT = /^[A-Za-z0-9_-]{2,512}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{2,512}$/;

/**
 * Capability credentials as compact JWS (EdDSA / Ed25519 via `jose`), header
 * `{ alg: "EdDSA", kid, typ: "x402-capability+jws" }`, payload the JSON claims. A verified token is cached
 * by its exact string (any altered byte is a different string and is verified afresh), so presenting a
 * capability costs a map lookup after its first use; expiry, counts and revocation are checked per call by
 * the extension and the store, never cached.
 *
 * @example
 * const format = await jwsCapabilityToken({ privateJwk: JSON.parse(process.env.RECEIPT_KEY!) });
 * const ext = capabilities({ token: format, grants: { 'GET /weather/:city': { calls: 1000 } } });
 */
export async function jwsCapabilityToken(parameters: JwsCapabilityTokenParameters = {}): Promise<JwsCapabilityToken> {
  const privateJwk = parameters.privateJwk ?? (await generateReceiptKey());
  if (
    privateJwk.kty !== 'OKP' ||
    privateJwk.crv !== 'Ed25519' ||
    typeof privateJwk.d !== 'string' ||
    typeof privateJwk.x !== 'string'
  ) {
    throw new ConfigurationError(
      'The capability key must be an Ed25519 private JWK (kty "OKP", crv "Ed25519", with "d" and "x").',
    );
  }
  const kid =
    privateJwk.kid ?? sha256Base64Url(canonicalJson({ crv: 'Ed25519', kty: 'OKP', x: privateJwk.x })).slice(0, 16);
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, alg: 'EdDSA', use: 'sig', kid };
  let privateKey: Awaited<ReturnType<typeof importJWK>>;
  let publicKey: Awaited<ReturnType<typeof importJWK>>;
  try {
    privateKey = await importJWK({ ...privateJwk, alg: 'EdDSA' }, 'EdDSA');
    publicKey = await importJWK(publicJwk, 'EdDSA');
  } catch (cause) {
    throw new ConfigurationError('The capability key is not a valid Ed25519 private JWK.', { cause });
  }
  const header = { alg: 'EdDSA', kid, typ: CAPABILITY_JWS_TYPE };
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const verified = createVerifiedTokenCache(parameters.cacheSize ?? 100_000);
  const recognizes = (token: string) =>
    (token.startsWith(encodedHeader) && COMPACT.test(token)) || isCapabilityJws(token);

  return {
    format: 'jws',
    kid,
    jwks: () => ({ keys: [publicJwk] }),
    recognizes,
    async issue(claims) {
      const payload = new TextEncoder().encode(JSON.stringify(CapabilityClaimsSchema.parse(claims)));
      const token = await new CompactSign(payload).setProtectedHeader(header).sign(privateKey);
      verified.remember(token, claims);
      return token;
    },
    async read(token): Promise<ReadCapabilityResult> {
      const cached = verified.get(token);
      if (cached) return { ok: true, claims: cached };
      if (!recognizes(token))
        return {
          ok: false,
          reason: 'malformed',
          message: 'The capability is not a compact JWS of type x402-capability+jws.',
        };
      let payload: Uint8Array;
      try {
        const result = await compactVerify(token, publicKey, { algorithms: ['EdDSA'] });
        if (
          result.protectedHeader.typ !== CAPABILITY_JWS_TYPE ||
          (result.protectedHeader.kid !== undefined && result.protectedHeader.kid !== kid)
        ) {
          return {
            ok: false,
            reason: 'capability_invalid',
            message: 'The capability has another type or was signed by another key.',
          };
        }
        payload = result.payload;
      } catch {
        return {
          ok: false,
          reason: 'capability_invalid',
          message: 'The capability signature does not verify: it was forged or altered.',
        };
      }
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(payload));
      } catch {
        return { ok: false, reason: 'capability_invalid', message: 'The capability payload is not JSON.' };
      }
      const parsed = CapabilityClaimsSchema.safeParse(json);
      if (!parsed.success)
        return { ok: false, reason: 'capability_invalid', message: 'The capability claims do not match the schema.' };
      verified.remember(token, parsed.data);
      return { ok: true, claims: parsed.data };
    },
  };
}

/** True when `token` is a compact JWS whose protected header has `typ: "x402-capability+jws"` (signature not checked). */
export function isCapabilityJws(token: string): boolean {
  if (!COMPACT.test(token)) return false;
  const header = decodeSegment(token.slice(0, token.indexOf('.')));
  return typeof header === 'object' && header !== null && 'typ' in header && header.typ === CAPABILITY_JWS_TYPE;
}

/**
 * The claims of a capability JWS **without checking its signature**: for a client choosing which of its
 * capabilities covers a request. A server must use {@link jwsCapabilityToken}'s `read`.
 *
 * @example const scope = peekJwsCapabilityClaims(token)?.scope;
 */
export function peekJwsCapabilityClaims(token: string): CapabilityClaims | undefined {
  if (!isCapabilityJws(token)) return undefined;
  const parsed = CapabilityClaimsSchema.safeParse(decodeSegment(token.split('.')[1] ?? ''));
  return parsed.success ? parsed.data : undefined;
}

function decodeSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
