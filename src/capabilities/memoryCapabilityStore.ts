import type { CapabilityStore } from './capabilityStore';
import {
  consumeCapability,
  initialCapabilityState,
  recordOf,
  restoreCapability,
  type CapabilityState,
} from './consumeCapability';

/** Options of {@link createMemoryCapabilityStore}. */
export type MemoryCapabilityStoreOptions = {
  /** Sweep expired records every this many registrations (default 1,000). */
  sweepEvery?: number;
  /** Clock for sweeping and `get` (default `Date.now`). */
  now?: () => number;
};

/**
 * A capability store in process memory: one instance, lost on restart (holders of a lost capability get a
 * 402 with `capability_unknown` and pay again). Every operation completes without awaiting, so `consume`
 * is atomic under any concurrency. Rules in {@link consumeCapability}.
 *
 * @example
 * const ext = capabilities({ token, store: createMemoryCapabilityStore(), grants });
 */
export function createMemoryCapabilityStore(options: MemoryCapabilityStoreOptions = {}): CapabilityStore {
  const entries = new Map<string, CapabilityState>();
  const revoked = new Map<string, number>();
  const sweepEvery = options.sweepEvery ?? 1000;
  const clock = options.now ?? Date.now;
  let registrations = 0;

  function sweep(now: number): void {
    for (const [jti, entry] of entries) if (entry.expiresAt <= now) entries.delete(jti);
    for (const [jti, until] of revoked) if (until <= now) revoked.delete(jti);
  }

  const isRevoked = (jti: string, now: number) => (revoked.get(jti) ?? Number.NEGATIVE_INFINITY) > now;

  return {
    async register(record) {
      if (++registrations % sweepEvery === 0) sweep(clock());
      if (!entries.has(record.jti)) entries.set(record.jti, initialCapabilityState(record));
    },
    async consume(jti, use) {
      const { result, next } = consumeCapability(entries.get(jti), isRevoked(jti, use.now), use);
      if (next) entries.set(jti, next);
      return result;
    },
    async restore(jti, use) {
      const entry = entries.get(jti);
      if (entry) entries.set(jti, restoreCapability(entry, use));
    },
    async revoke(jti, expiresAt) {
      revoked.set(jti, expiresAt ?? entries.get(jti)?.expiresAt ?? Number.POSITIVE_INFINITY);
    },
    async get(jti) {
      const entry = entries.get(jti);
      return entry === undefined ? undefined : { ...recordOf(entry), revoked: isRevoked(jti, clock()) };
    },
  };
}
