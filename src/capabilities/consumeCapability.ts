import type { CapabilityRecord, CapabilityUse, ConsumeResult } from './capabilityStore';

/** What a store keeps per capability: the record plus its rate-limit bucket. */
export type CapabilityState = CapabilityRecord & {
  /** Rate-limit tokens left in the bucket. */
  tokens: number;
  /** When the bucket was last refilled, ms. */
  refilledAt: number;
};

/**
 * A freshly registered capability's state: a full bucket.
 *
 * @example entries.set(record.jti, initialCapabilityState(record));
 */
export function initialCapabilityState(record: CapabilityRecord): CapabilityState {
  return { ...record, tokens: record.rateLimit === undefined ? 0 : Math.max(1, record.rateLimit), refilledAt: 0 };
}

/**
 * The one rule of taking a use, for the stores that run it in JavaScript (memory; SQLite inside a write
 * transaction; the Redis store runs the same rule in Lua): revoked → unknown → expired → exhausted (calls,
 * then amount) → rate limited (token bucket of `rateLimit` tokens refilled at `rateLimit` per second) →
 * taken. Returns the answer and, when something changed, the state to write back. Pure.
 *
 * @example
 * const { result, next } = consumeCapability(state, revoked, { now: Date.now() });
 */
export function consumeCapability(
  state: CapabilityState | undefined,
  revoked: boolean,
  use: CapabilityUse,
): { result: ConsumeResult; next?: CapabilityState } {
  if (revoked) return { result: { ok: false, reason: 'capability_revoked' } };
  if (state === undefined) return { result: { ok: false, reason: 'capability_unknown' } };
  if (state.expiresAt <= use.now) return { result: { ok: false, reason: 'capability_expired' } };
  if (state.calls !== undefined && state.calls <= 0) return { result: { ok: false, reason: 'capability_exhausted' } };
  const amount = state.amount === undefined ? undefined : (use.amount ?? state.costPerCall ?? 0n);
  if (state.amount !== undefined && amount !== undefined && state.amount < amount)
    return { result: { ok: false, reason: 'capability_exhausted' } };
  const next: CapabilityState = { ...state };
  if (state.rateLimit !== undefined) {
    const elapsed = Math.max(0, use.now - state.refilledAt) / 1000;
    next.tokens = Math.min(Math.max(1, state.rateLimit), state.tokens + elapsed * state.rateLimit);
    next.refilledAt = Math.max(state.refilledAt, use.now);
    if (next.tokens < 1) {
      return {
        result: {
          ok: false,
          reason: 'capability_rate_limited',
          retryAfterMs: Math.ceil(((1 - next.tokens) / state.rateLimit) * 1000),
        },
        next,
      };
    }
    next.tokens -= 1;
  }
  if (next.calls !== undefined) next.calls -= 1;
  if (next.amount !== undefined && amount !== undefined) next.amount -= amount;
  return {
    result: {
      ok: true,
      ...(next.calls !== undefined ? { remainingCalls: next.calls } : {}),
      ...(next.amount !== undefined ? { remainingAmount: next.amount } : {}),
    },
    next,
  };
}

/**
 * Gives back one use that was not served: a call, and its amount when metered. Pure.
 *
 * @example entries.set(jti, restoreCapability(state, { now }));
 */
export function restoreCapability(state: CapabilityState, use: CapabilityUse): CapabilityState {
  const amount = use.amount ?? state.costPerCall;
  return {
    ...state,
    ...(state.calls !== undefined ? { calls: state.calls + 1 } : {}),
    ...(state.amount !== undefined && amount !== undefined ? { amount: state.amount + amount } : {}),
  };
}

/**
 * The record part of a state (what `get` answers).
 *
 * @example return { ...recordOf(state), revoked: false };
 */
export function recordOf(state: CapabilityState): CapabilityRecord {
  const { tokens: _tokens, refilledAt: _refilledAt, ...record } = state;
  return record;
}
