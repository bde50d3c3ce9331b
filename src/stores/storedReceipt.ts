import { SignedReceiptSchema, type SignedReceipt } from '../core/receipt/receipt';
import { StoreCorruptError } from './storeErrors';

/**
 * Parses a receipt read back from a store (JSON text) with {@link SignedReceiptSchema}; anything else is a
 * {@link StoreCorruptError}, never a crash and never an unchecked value.
 *
 * @example parseStoredReceipt('sqlite', 'evm-eip3009:0xabc', row.receipt)
 */
export function parseStoredReceipt(store: string, paymentId: string, json: unknown): SignedReceipt {
  if (typeof json !== 'string') throw new StoreCorruptError(store, paymentId, 'the receipt is missing');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new StoreCorruptError(store, paymentId, 'the receipt is not valid JSON', { cause });
  }
  const parsed = SignedReceiptSchema.safeParse(value);
  if (!parsed.success)
    throw new StoreCorruptError(store, paymentId, 'the receipt does not match the receipt schema', {
      cause: parsed.error,
    });
  return parsed.data;
}
