/** What the store keeps of an issued capability. */
export type CapabilityRecord = {
  jti: string;
  /** Calls left; absent = not counted (time-limited only). */
  calls?: number;
  /** Atomic units left to draw; absent = not metered. */
  amount?: bigint;
  /** Atomic units a call draws when the use names none (metered capabilities). */
  costPerCall?: bigint;
  /** Most calls per second; absent = no limit. */
  rateLimit?: number;
  /** Expiry, ms since the epoch; the store may forget the record after it. */
  expiresAt: number;
};

/** One use of a capability: a call, drawing `amount` (default: the record's `costPerCall`) when it is metered. */
export type CapabilityUse = { now: number; amount?: bigint };

/** Outcome of {@link CapabilityStore.consume}. */
export type ConsumeResult =
  | { ok: true; remainingCalls?: number; remainingAmount?: bigint }
  | { ok: false; reason: 'capability_unknown' | 'capability_exhausted' | 'capability_revoked' | 'capability_expired' }
  | { ok: false; reason: 'capability_rate_limited'; retryAfterMs: number };

/**
 * Where remaining counts and revocations live. `consume` must be atomic: any number of concurrent calls on
 * a capability of N calls succeed exactly N times (one process: the memory store; several instances behind
 * a load balancer need a shared implementation, e.g. Redis with a Lua script, of this same interface).
 *
 * @example
 * await store.register({ jti, calls: 1000, expiresAt: Date.now() + 600_000 });
 * const r = await store.consume(jti, { now: Date.now() }); // { ok: true, remainingCalls: 999 }
 */
export interface CapabilityStore {
  /**
   * Records a freshly issued capability. A `jti` already recorded keeps its record as it is (what is left is never
   * refilled), so a capability registered again (its payment's answer sent again) buys nothing more; an earlier
   * revocation of the id is kept too.
   */
  register(record: CapabilityRecord): Promise<void>;
  /**
   * Atomically checks revocation, expiry, rate limit and what is left, and takes one call (and `amount`).
   * Takes nothing when it refuses.
   */
  consume(jti: string, use: CapabilityUse): Promise<ConsumeResult>;
  /** Gives back a use that was not served (the handler failed). */
  restore(jti: string, use: CapabilityUse): Promise<void>;
  /** Revokes a capability until `expiresAt` (ms; default: forever, or its record's expiry when known). */
  revoke(jti: string, expiresAt?: number): Promise<void>;
  /** What is left of a capability, or undefined when unknown. */
  get(jti: string): Promise<(CapabilityRecord & { revoked: boolean }) | undefined>;
}
