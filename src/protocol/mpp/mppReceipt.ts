import { z } from 'zod';
import { decodeBase64UrlObject, encodeBase64UrlJson, mppMalformed } from './encoding';

/**
 * A `Payment-Receipt`: which method settled, its reference (a transaction hash, a payment hash), `status:
 * "success"` and when. Unknown members are kept (x402-rails attaches its signed receipt under
 * {@link MPP_SIGNED_RECEIPT_KEY}).
 */
export const MppReceiptSchema = z.looseObject({
  method: z.string().min(1).max(64),
  reference: z.string().min(1).max(256),
  status: z.literal('success'),
  timestamp: z.string().max(40),
  externalId: z.string().max(256).optional(),
  /** The id of the challenge the credential answered. */
  challengeId: z.string().max(256).optional(),
});

/** A `Payment-Receipt` (see {@link MppReceiptSchema}). */
export type MppReceipt = z.infer<typeof MppReceiptSchema>;

/** Member of a `Payment-Receipt` that carries x402-rails' signed receipt of the same payment. */
export const MPP_SIGNED_RECEIPT_KEY = 'x402-rails/receipt';

/** Writes a `Payment-Receipt` value (base64url JSON). */
export function serializeMppReceipt(receipt: MppReceipt): string {
  return encodeBase64UrlJson(receipt);
}

/**
 * Reads a `Payment-Receipt` value. Throws MalformedInputError when it is not base64url JSON of a receipt.
 *
 * @example parseMppReceipt(res.headers.get('Payment-Receipt') ?? '') // { method: 'evm', reference: '0x…', status: 'success', timestamp }
 */
export function parseMppReceipt(value: string): MppReceipt {
  const parsed = MppReceiptSchema.safeParse(
    decodeBase64UrlObject(value.trim(), 'Payment-Receipt', 'receipt', 64 * 1024),
  );
  if (!parsed.success)
    throw mppMalformed(
      'Payment-Receipt',
      'bad_receipt',
      'The Payment-Receipt needs method, reference, status "success" and timestamp.',
    );
  return parsed.data;
}
