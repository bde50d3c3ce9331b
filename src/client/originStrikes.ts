import { ConfigurationError, OriginSuspendedError } from '../core/errors';

/** One payment an origin took without serving: the status it answered (0: no answer) and its reason code. */
export type Strike = { status: number; reason?: string; at: number };

/** Options of {@link createOriginStrikes}. */
export type OriginStrikesOptions = {
  /** Strikes after which an origin is no longer paid (default 1: the first payment taken without serving). */
  limit?: number;
};

/**
 * Per-origin record of payments a server took without serving (a non-2xx, or no answer, to a request that
 * carried a payment). Once an origin has `limit` strikes, `assertPayable` throws {@link OriginSuspendedError}
 * before anything is paid, until the user calls `reset(origin)`. A server that settles and answers 402 again
 * therefore gets one payment, not one per retry. Share one between clients to share the verdicts.
 *
 * @example
 * const strikes = createOriginStrikes({ limit: 2 });
 * const pay = payingFetch(fetch, { adapters, wallets, strikes });
 * // … after checking with the operator: strikes.reset('https://api.example.com');
 */
export type OriginStrikes = {
  /** Records a payment `origin` took without serving. */
  strike(origin: string, strike: Strike): void;
  /** Throws OriginSuspendedError when `origin` has reached the limit. */
  assertPayable(origin: string): void;
  /** The strikes of an origin, oldest first. */
  strikesOf(origin: string): readonly Strike[];
  /** Forgets an origin's strikes: it may be paid again. */
  reset(origin: string): void;
  readonly limit: number;
};

/** Creates an in-memory {@link OriginStrikes}. */
export function createOriginStrikes(options: OriginStrikesOptions = {}): OriginStrikes {
  const limit = options.limit ?? 1;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ConfigurationError('createOriginStrikes: limit must be a positive integer.');
  const byOrigin = new Map<string, Strike[]>();
  return {
    limit,
    strike(origin, strike) {
      byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), strike]);
    },
    assertPayable(origin) {
      const strikes = byOrigin.get(origin) ?? [];
      const last = strikes[strikes.length - 1];
      if (strikes.length < limit || !last) return;
      throw new OriginSuspendedError(origin, {
        strikes: strikes.length,
        limit,
        lastStatus: last.status,
        ...(last.reason ? { lastReason: last.reason } : {}),
      });
    },
    strikesOf: (origin) => byOrigin.get(origin) ?? [],
    reset(origin) {
      byOrigin.delete(origin);
    },
  };
}
