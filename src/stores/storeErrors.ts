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
    super(
      errorCodes.RECEIPT_INVALID,
      `The ${store} payment store holds a corrupt record for payment ${paymentId}: ${problem}. Repair or delete that record.`,
      {
        status: 500,
        details: { store, paymentId, problem },
        cause: options.cause,
      },
    );
    this.paymentId = paymentId;
  }
}

/**
 * The payment store cannot be reached or is too busy right now (Redis down, SQLite locked past its busy
 * timeout, disk full): answer 503 with Retry-After. Nothing about the payment was decided.
 *
 * Code: `INFRA__RAIL__UNAVAILABLE` (there is no store-specific code yet).
 *
 * @example
 * try { await store.claim(id, key, 60_000) } catch (e) { if (e instanceof StoreUnavailableError) retryLater() }
 */
export class StoreUnavailableError extends X402RailsError {
  override name = 'StoreUnavailableError';
  constructor(store: string, operation: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      errorCodes.RAIL_UNAVAILABLE,
      `The ${store} payment store failed during ${operation} (${reason}). Check that it is reachable and retry.`,
      {
        status: 503,
        details: { store, operation },
        cause,
      },
    );
  }
}

/**
 * Runs a store operation; our own typed errors pass through, any other failure (driver, network, lock)
 * becomes a {@link StoreUnavailableError}.
 *
 * @example await guardStore('redis', 'claim', () => redis.set(key, value, 'PX', ttl, 'NX'))
 */
export async function guardStore<T>(store: string, operation: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof X402RailsError) throw error;
    throw new StoreUnavailableError(store, operation, error);
  }
}
