import type { PublicKey, VersionedTransaction } from '@solana/web3.js';
import { ed25519Verify } from './ed25519';

/** Outcome of {@link checkSignerSignature}. */
export type SignatureCheck = 'valid' | 'missing' | 'invalid';

/**
 * Checks the signature a transaction holds for `signer` (one of its required signers) over its message.
 * An all-zero slot (a partially signed transaction's empty place) is `missing`.
 *
 * @example checkSignerSignature(tx, payer); // 'valid'
 */
export function checkSignerSignature(tx: VersionedTransaction, signer: PublicKey): SignatureCheck {
  const { message } = tx;
  const index = message.staticAccountKeys
    .slice(0, message.header.numRequiredSignatures)
    .findIndex((k) => k.equals(signer));
  const signature = index === -1 ? undefined : tx.signatures[index];
  if (signature === undefined || signature.every((b) => b === 0)) return 'missing';
  return ed25519Verify(signer, message.serialize(), signature) ? 'valid' : 'invalid';
}
