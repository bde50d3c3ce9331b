import { ConfigurationError } from '../core/errors';

/**
 * How a paid route is metered. The route's price (its offer in the paywall) is the deposit: the most the
 * client pre-authorizes. Each call reserves `maxUnitsPerCall × unitPrice` of the balance before it is served
 * and is charged what its handler reports (`X402-Usage: <units>`), never more than it reserved. The deposit
 * should cover several reservations: a session whose balance is below one reservation serves no more calls
 * (its rest is refunded on close).
 *
 * @example
 * { maxUnitsPerCall: 500n, unitPrice: { 'evm-eip3009': 10n, 'lightning-l402': 20n } } // tokens of an LLM call
 * { maxUnitsPerCall: 10_000n }                                                          // usage in atomic units
 */
export type MeteredRoute = {
  /** Most usage units one call may report; a call is served only when the balance covers this many. */
  maxUnitsPerCall: bigint | number;
  /** Atomic units of the deposit's asset per usage unit: one for every rail, or per rail id (default 1). */
  unitPrice?: bigint | Record<string, bigint>;
  /** Session lifetime in seconds (default 24 h); an expired session can still be closed (and refunded). */
  ttlSeconds?: number;
  /**
   * `deposit` (default): the price is paid up front and the unused part refunded on close. `authorize`: on a rail
   * with an authorizer (`authorizers` of the metering options, e.g. `evm-eip2612`) the client only authorizes the
   * price (an EIP-2612 permit), nothing moves at open, and the close settles the actual total in one transfer;
   * payments on other rails stay deposits.
   */
  settle?: 'deposit' | 'authorize';
};

/** A metered route with defaults applied. */
export type ResolvedMeteredRoute = {
  maxUnitsPerCall: bigint;
  /** Price of one unit on a rail, or undefined when the route names none for it. */
  unitPrice(rail: string): bigint | undefined;
  ttlSeconds: number;
  settle: 'deposit' | 'authorize';
};

const DEFAULT_TTL_SECONDS = 24 * 60 * 60;

/** Validates the metering of route `key`; throws ConfigurationError naming what is wrong. */
export function resolveMeteredRoute(key: string, route: MeteredRoute): ResolvedMeteredRoute {
  const where = `Metered route "${key}"`;
  const max =
    typeof route.maxUnitsPerCall === 'number'
      ? Number.isSafeInteger(route.maxUnitsPerCall)
        ? BigInt(route.maxUnitsPerCall)
        : -1n
      : route.maxUnitsPerCall;
  if (max <= 0n) throw new ConfigurationError(`${where}: maxUnitsPerCall must be a positive integer.`);
  const ttl = route.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 1)
    throw new ConfigurationError(`${where}: ttlSeconds must be a positive integer.`);
  const prices = route.unitPrice ?? 1n;
  const all = typeof prices === 'bigint' ? [prices] : Object.values(prices);
  if (all.some((p) => typeof p !== 'bigint' || p <= 0n))
    throw new ConfigurationError(`${where}: unitPrice must be positive bigints.`);
  return {
    maxUnitsPerCall: max,
    unitPrice: (rail) => (typeof prices === 'bigint' ? prices : prices[rail]),
    ttlSeconds: ttl,
    settle: route.settle === 'authorize' ? 'authorize' : 'deposit',
  };
}

/**
 * Reads a usage header value: a decimal count of units. Undefined when absent or not a plain decimal (the
 * call is then charged its full reservation).
 */
export function parseUsage(value: string | null): bigint | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  return /^[0-9]{1,30}$/.test(trimmed) ? BigInt(trimmed) : undefined;
}
