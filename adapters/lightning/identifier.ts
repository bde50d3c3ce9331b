/**
 * The L402 macaroon identifier: uint16 big-endian version 0 ‖ payment hash (32 bytes) ‖ token id (32 bytes),
 * 66 bytes in all, as Aperture and lsat-js write it.
 */

/** Length of an L402 identifier, bytes. */
export const L402_IDENTIFIER_LENGTH = 66;
/** The only identifier version defined. */
export const L402_IDENTIFIER_VERSION = 0;

/** The fields of an L402 identifier, hex. */
export type L402Identifier = {
  /** Payment hash of the invoice the token is paid by, 64 hex. */
  paymentHash: string;
  /** Random token id, 64 hex. */
  tokenId: string;
};

const HEX32 = /^[0-9a-f]{64}$/;

/**
 * Encodes an identifier.
 *
 * @example encodeL402Identifier({ paymentHash, tokenId: randomBytes(32).toString('hex') })
 */
export function encodeL402Identifier(id: L402Identifier): Uint8Array {
  if (!HEX32.test(id.paymentHash) || !HEX32.test(id.tokenId))
    throw new TypeError('paymentHash and tokenId must be 64 lower-case hex characters');
  const out = new Uint8Array(L402_IDENTIFIER_LENGTH);
  out[0] = 0;
  out[1] = L402_IDENTIFIER_VERSION;
  out.set(Buffer.from(id.paymentHash, 'hex'), 2);
  out.set(Buffer.from(id.tokenId, 'hex'), 34);
  return out;
}

/**
 * Decodes an identifier; undefined when it is not a version-0 L402 identifier.
 *
 * @example decodeL402Identifier(macaroon.identifier)?.paymentHash
 */
export function decodeL402Identifier(bytes: Uint8Array): L402Identifier | undefined {
  if (bytes.length !== L402_IDENTIFIER_LENGTH || bytes[0] !== 0 || bytes[1] !== L402_IDENTIFIER_VERSION)
    return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return { paymentHash: b.subarray(2, 34).toString('hex'), tokenId: b.subarray(34, 66).toString('hex') };
}
