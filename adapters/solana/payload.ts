import { VersionedTransaction } from '@solana/web3.js';
import { z } from 'zod';
import { sha256 } from '../../src/core/cryptoPrimitives';
import { PaymentInvalidError, type RailPayload } from '../../src/index';
import { base58Encode } from './base58';
import { MAX_TRANSACTION_BASE64, MAX_TRANSACTION_BYTES } from './constants';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * x402 `exact` SVM payload, identical to the official scheme: a base64 partially signed transaction.
 *
 * @example SolanaExactPayloadSchema.parse({ transaction: 'AQAAAA…' });
 */
export const SolanaExactPayloadSchema = z.object({
  transaction: z.string().min(4).max(MAX_TRANSACTION_BASE64).regex(BASE64, 'must be standard base64 with padding'),
});

/** An x402 `exact` SVM payload: the partially signed transaction, base64. */
export type SolanaExactPayload = z.infer<typeof SolanaExactPayloadSchema>;

/**
 * Parses a payload and deserializes its transaction (legacy or v0), at most one packet (1232 bytes). Throws
 * `PaymentInvalidError('invalid_payload')` when either step fails.
 *
 * @example const tx = decodePaymentTransaction(paymentPayload.payload);
 */
export function decodePaymentTransaction(payload: RailPayload): VersionedTransaction {
  const parsed = SolanaExactPayloadSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PaymentInvalidError(
      'invalid_payload',
      `The Solana payload is malformed: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  const bytes = Buffer.from(parsed.data.transaction, 'base64');
  // A node refuses a larger transaction outright (an RPC error, not a simulation result): refuse it here.
  if (bytes.length > MAX_TRANSACTION_BYTES)
    throw new PaymentInvalidError(
      'invalid_payload',
      `The Solana transaction is ${bytes.length} bytes; a cluster takes at most ${MAX_TRANSACTION_BYTES}.`,
    );
  try {
    const tx = VersionedTransaction.deserialize(bytes);
    if (tx.signatures.length !== tx.message.header.numRequiredSignatures) throw new Error('signature count');
    return tx;
  } catch (cause) {
    throw new PaymentInvalidError('invalid_payload', 'The Solana payload does not hold a serialized transaction.', {
      cause,
    });
  }
}

/**
 * Encodes a transaction as the payload's base64.
 *
 * @example const payload = encodePaymentTransaction(tx); // { transaction: 'Ag…' }
 */
export function encodePaymentTransaction(tx: VersionedTransaction): SolanaExactPayload {
  return { transaction: Buffer.from(tx.serialize()).toString('base64') };
}

/**
 * The payment id of a transaction: base58 of the SHA-256 of its message (`tx.message.serialize()`). The
 * message is what the payer cannot vary without making another payment: Ed25519 lets a signer produce many
 * valid signatures of one message, so a signature-keyed id would let one transfer claim many services. The
 * transaction id a cluster knows it by is the fee payer's deterministic signature of this same message (see
 * `coSign`), so the id and the landed transaction correspond one to one.
 *
 * @example paymentIdOf(tx); // '9xQe…' — base58(sha256(message))
 */
export function paymentIdOf(tx: VersionedTransaction): string {
  return base58Encode(messageHashOf(tx.message.serialize()));
}

/**
 * SHA-256 of serialized message bytes (the payment id's preimage).
 *
 * @example messageHashOf(tx.message.serialize()).length; // 32
 */
export function messageHashOf(message: Uint8Array): Uint8Array {
  return sha256(message);
}
