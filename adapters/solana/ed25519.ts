import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import type { Keypair, PublicKey } from '@solana/web3.js';

const privateKeys = new WeakMap<Keypair, KeyObject>();

/** The order L of the Ed25519 base point: a signature's scalar `s` must be below it. */
const GROUP_ORDER = ed25519.Point.Fn.ORDER;

/**
 * Ed25519-signs `message` with a web3.js keypair through `node:crypto` (several times faster than the
 * pure-JS signer web3.js uses). The key object is cached per keypair.
 *
 * @example tx.addSignature(feePayer.publicKey, ed25519Sign(feePayer, tx.message.serialize()));
 */
export function ed25519Sign(keypair: Keypair, message: Uint8Array): Uint8Array {
  let key = privateKeys.get(keypair);
  if (!key) {
    key = createPrivateKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: Buffer.from(keypair.secretKey.subarray(0, 32)).toString('base64url'),
        x: Buffer.from(keypair.publicKey.toBytes()).toString('base64url'),
      },
      format: 'jwk',
    });
    privateKeys.set(keypair, key);
  }
  return new Uint8Array(sign(null, message, key));
}

/**
 * True when `bytes` is a point encoding the Solana runtime takes as a key or a signature's `R`: canonical
 * (y below the field prime, no negative zero) and not of small order. Small-order points are what lets a
 * "signature" verify for every message in a lax verifier.
 *
 * @example isStrictEd25519Point(payer.publicKey.toBytes()); // true; the identity encoding 01 00…00 is false
 */
export function isStrictEd25519Point(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  try {
    return !ed25519.Point.fromBytes(bytes, false).isSmallOrder();
  } catch {
    return false;
  }
}

/**
 * Checks an Ed25519 signature of `message` by `signer` exactly as the Solana runtime does (ed25519-dalek
 * `verify_strict`): the key and the signature's `R` must be canonical points of large order, `s` must be
 * below the group order, and `[s]B = R + [k]A` must hold without the cofactor. `node:crypto` (OpenSSL) does
 * the cofactorless equation and the `s` range; `@noble/curves` decodes the points strictly. A signature the
 * chain would refuse never verifies here. False for any malformed input.
 *
 * @example ed25519Verify(payer.publicKey, tx.message.serialize(), tx.signatures[1]);
 */
export function ed25519Verify(signer: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const key = signer.toBytes();
  if (!isStrictEd25519Point(key) || !isStrictEd25519Point(signature.subarray(0, 32))) return false;
  if (scalarOf(signature) >= GROUP_ORDER) return false;
  try {
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key).toString('base64url') },
      format: 'jwk',
    });
    return verify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}

/** The little-endian scalar `s` of a signature (its last 32 bytes). */
function scalarOf(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 63; i >= 32; i -= 1) s = (s << 8n) | BigInt(signature[i] ?? 0);
  return s;
}
