/**
 * Minting and checking L402 tokens without any Lightning call: the macaroon (identifier carrying the payment
 * hash, caveats binding route/method/amount/expiry, signed with a per-token key derived from the server's
 * root key, so nothing is stored) and the preimage that proves its invoice was paid.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  addFirstPartyCaveat,
  createMacaroon,
  firstPartyCaveats,
  macaroonToBase64,
  verifyMacaroonSignature,
  type Macaroon,
} from '../../src/protocol/macaroon';
import { checkL402Caveats, l402Caveats, type L402CaveatContext, type L402Grant } from './caveats';
import { decodeL402Identifier, encodeL402Identifier } from './identifier';

/**
 * The root key of one token: HMAC-SHA256(serverRootKey, tokenId). Lets the server verify any token it
 * issued from its one secret, with nothing stored per token.
 *
 * @example deriveTokenRootKey(rootKey, tokenIdHex)
 */
export function deriveTokenRootKey(rootKey: Uint8Array, tokenId: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', rootKey).update(Buffer.from(tokenId, 'hex')).digest());
}

/** Parameters of {@link mintL402Macaroon}. */
export type MintL402MacaroonParameters = L402Grant & {
  /** The server's macaroon root key (secret). */
  rootKey: Uint8Array;
  /** Payment hash of the invoice that pays for the token, 64 hex. */
  paymentHash: string;
  /** Token id, 64 hex (default: 32 random bytes). */
  tokenId?: string;
  /** Location hint written into the macaroon (not signed). */
  location?: string;
};

/** Return type of {@link mintL402Macaroon}. */
export type MintL402MacaroonReturnType = { macaroon: Macaroon; base64: string; tokenId: string };

/**
 * Mints an L402 macaroon for an invoice.
 *
 * @example
 * const { base64 } = mintL402Macaroon({ rootKey, paymentHash, serviceName: 'x402', path: '/report', method: 'GET', amountMsat: '21000', validUntil });
 */
export function mintL402Macaroon(p: MintL402MacaroonParameters): MintL402MacaroonReturnType {
  const tokenId = p.tokenId ?? randomBytes(32).toString('hex');
  let macaroon = createMacaroon({
    rootKey: deriveTokenRootKey(p.rootKey, tokenId),
    identifier: encodeL402Identifier({ paymentHash: p.paymentHash, tokenId }),
    ...(p.location ? { location: p.location } : {}),
  });
  for (const caveat of l402Caveats(p)) macaroon = addFirstPartyCaveat(macaroon, caveat);
  return { macaroon, base64: macaroonToBase64(macaroon), tokenId };
}

/** Parameters of {@link verifyL402Token}. */
export type VerifyL402TokenParameters = L402CaveatContext & {
  rootKey: Uint8Array;
  macaroon: Macaroon;
  /** Preimage, 64 hex. */
  preimage: string;
  /** The payment hash the offer names, when known; the token must be for it. */
  paymentHash?: string;
};

/** Return type of {@link verifyL402Token}. Reasons: `invalid_macaroon`, `caveat_failed`, `macaroon_expired`, `invalid_preimage`. */
export type VerifyL402TokenReturnType =
  | { ok: true; paymentHash: string; tokenId: string }
  | {
      ok: false;
      reason: 'invalid_macaroon' | 'caveat_failed' | 'macaroon_expired' | 'invalid_preimage';
      message: string;
    };

/**
 * Checks a token offline: identifier, signature chain with the derived key, every caveat, and that the
 * preimage hashes to the payment hash. No Lightning call (the invoice state is the rail's extra check).
 *
 * @example
 * const r = verifyL402Token({ rootKey, macaroon, preimage, serviceName: 'x402', path: '/report', method: 'GET', amountMsat: '21000', nowSeconds });
 */
export function verifyL402Token(p: VerifyL402TokenParameters): VerifyL402TokenReturnType {
  const id = decodeL402Identifier(p.macaroon.identifier);
  if (!id)
    return {
      ok: false,
      reason: 'invalid_macaroon',
      message: 'The macaroon identifier is not an L402 identifier (version 0, payment hash, token id).',
    };
  if (p.paymentHash !== undefined && p.paymentHash.toLowerCase() !== id.paymentHash) {
    return {
      ok: false,
      reason: 'invalid_macaroon',
      message: 'The macaroon was issued for another invoice than the offer names.',
    };
  }
  if (!verifyMacaroonSignature(p.macaroon, deriveTokenRootKey(p.rootKey, id.tokenId))) {
    return {
      ok: false,
      reason: 'invalid_macaroon',
      message: 'The macaroon signature does not verify: it was not issued by this server or was altered.',
    };
  }
  const failure = checkL402Caveats(firstPartyCaveats(p.macaroon), p);
  if (failure) return { ok: false, ...failure };
  if (!/^[0-9a-fA-F]{64}$/.test(p.preimage))
    return { ok: false, reason: 'invalid_preimage', message: 'The preimage must be 64 hex characters.' };
  const hash = createHash('sha256').update(Buffer.from(p.preimage, 'hex')).digest();
  if (!timingSafeEqual(hash, Buffer.from(id.paymentHash, 'hex'))) {
    return {
      ok: false,
      reason: 'invalid_preimage',
      message: "The preimage does not hash to the token's payment hash: pay the invoice to learn the right one.",
    };
  }
  return { ok: true, paymentHash: id.paymentHash, tokenId: id.tokenId };
}
