import { ConfigurationError } from '../core/errors';

/**
 * How a paid call on a route buys a capability. At least one of `calls` and `ttlSeconds`.
 *
 * @example
 * { calls: 1000, ttlSeconds: 3600, rateLimit: 50 }            // 1,000 more calls within the hour, ≤ 50/s
 * { ttlSeconds: 600, scope: { routes: ['GET /a', 'GET /b'] } } // ten minutes of both routes
 * { amountCap: 1_000_000n, costPerCall: 1_000n }               // metered: a prepaid balance drawn per call
 */
export type CapabilityGrant = {
  /** Calls it authorizes beyond the paid call that bought it. */
  calls?: number;
  /** Lifetime in seconds (default 24 h when only `calls` or `amountCap` is given). */
  ttlSeconds?: number;
  /** Prepaid balance in atomic units of the paying asset, drawn by `costPerCall` per call. */
  amountCap?: bigint | string;
  /** Atomic units one call draws from `amountCap`. */
  costPerCall?: bigint | string;
  /** What it covers; default: the paid route (its key) and its method (or the paid request's method). */
  scope?: { routes?: string[]; methods?: string[] };
  /** Most calls per second (token bucket, burst = this many). */
  rateLimit?: number;
};

/** A grant with defaults applied and amounts as bigint. */
export type ResolvedGrant = {
  calls: number | undefined;
  ttlSeconds: number;
  amountCap: bigint | undefined;
  costPerCall: bigint | undefined;
  scope: { routes: string[] | undefined; methods: string[] | undefined };
  rateLimit: number | undefined;
};

const DEFAULT_TTL_SECONDS = 24 * 60 * 60;

/**
 * Validates a grant of route `key`; throws ConfigurationError naming what is wrong.
 *
 * @example resolveGrant('GET /a', { calls: 100 }) // { calls: 100, ttlSeconds: 86400, … }
 */
export function resolveGrant(key: string, grant: CapabilityGrant): ResolvedGrant {
  const where = `Capability grant of "${key}"`;
  if (grant.calls === undefined && grant.ttlSeconds === undefined && grant.amountCap === undefined) {
    throw new ConfigurationError(`${where} grants nothing; give calls, ttlSeconds or amountCap.`);
  }
  if (grant.calls !== undefined && (!Number.isSafeInteger(grant.calls) || grant.calls < 1))
    throw new ConfigurationError(`${where}: calls must be a positive integer.`);
  if (grant.ttlSeconds !== undefined && (!Number.isSafeInteger(grant.ttlSeconds) || grant.ttlSeconds < 1)) {
    throw new ConfigurationError(`${where}: ttlSeconds must be a positive integer.`);
  }
  if (grant.rateLimit !== undefined && !(grant.rateLimit > 0 && Number.isFinite(grant.rateLimit)))
    throw new ConfigurationError(`${where}: rateLimit must be positive.`);
  const amountCap = atomic(where, 'amountCap', grant.amountCap);
  const costPerCall = atomic(where, 'costPerCall', grant.costPerCall);
  if ((amountCap === undefined) !== (costPerCall === undefined))
    throw new ConfigurationError(`${where}: amountCap and costPerCall go together.`);
  const methods = grant.scope?.methods?.map((m) => m.toUpperCase());
  if (methods?.some((m) => !/^[A-Z]{1,16}$/.test(m)))
    throw new ConfigurationError(`${where}: scope.methods must be HTTP method names.`);
  return {
    calls: grant.calls,
    ttlSeconds: grant.ttlSeconds ?? DEFAULT_TTL_SECONDS,
    amountCap,
    costPerCall,
    scope: { routes: grant.scope?.routes, methods },
    rateLimit: grant.rateLimit,
  };
}

function atomic(where: string, field: string, value: bigint | string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && !/^[0-9]{1,78}$/.test(value))
    throw new ConfigurationError(`${where}: ${field} must be atomic units (a decimal string or bigint).`);
  const n = BigInt(value);
  if (n <= 0n) throw new ConfigurationError(`${where}: ${field} must be positive.`);
  return n;
}
