import { errorCodes, X402RailsError } from '../core/errors';

/**
 * A stored payment record could not be read back: a receipt that is not valid JSON or does not match the
 * receipt schema, an unknown state, a missing column. The store is never trusted blindly; a corrupt row
 * ends the request with this error (HTTP 500) instead of a crash or a wrong answer. Repair or delete the
 * row named in `details.paymentId`.
 *
 * Code: `RECEIPT__INVALID` (there is no store-specific code yet).
 *
 * @example
 * try { await store.get(id) } catch (e) { if (e instanceof StoreCorruptError) log(e.details.paymentId) }
 */
export class StoreCorruptError extends X402RailsError {
  override name = 'StoreCorruptError';
  /** The payment whose record is corrupt. */
  readonly paymentId: string;
  constructor(store: string, paymentId: string, problem: string, options: { cause?: unknown } = {}) {
    super(errorCodes.RECEIPT_INVALID, `The ${store} payment store holds a corrupt record for payment ${paymentId}: ${problem}. Repair or delete that record.`, {
      status: 500,
      details: { store, paymentId, problem },
      cause: options.cause,
    });
    this.paymentId = paymentId;
  }
}
