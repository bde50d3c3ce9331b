import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Keypair, PublicKey } from '@solana/web3.js';

const privateKeys = new WeakMap<Keypair, KeyObject>();

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
 * Checks an Ed25519 signature of `message` by `signer`; false for any malformed input.
 *
 * @example ed25519Verify(payer.publicKey, tx.message.serialize(), tx.signatures[1]);
 */
export function ed25519Verify(signer: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(signer.toBytes()).toString('base64url') }, format: 'jwk' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
