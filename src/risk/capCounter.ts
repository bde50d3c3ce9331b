/** One limit a reservation must stay within: the running total under `key` may not pass `max`. */
export type CapLimit = { key: string; max: bigint };

/**
 * Where cap totals live. `tryReserve` adds `amount` under every limit's key atomically, or nothing when any
 * total would pass its max (answering that limit). Memory for one process; SQLite for several on one machine.
 */
export interface CapCounter {
  tryReserve(
    reservationId: string,
    limits: readonly CapLimit[],
    amount: bigint,
  ): Promise<{ ok: true } | { ok: false; limit: CapLimit }>;
  /** Keeps a reservation's amounts (the money moved or may have). */
  commit(reservationId: string): Promise<void>;
  /** Takes a reservation's amounts back out of the totals. */
  release(reservationId: string): Promise<void>;
  /** The total under a key. */
  total(key: string): Promise<bigint>;
}

/**
 * Cap totals in this process's memory: one synchronous check-and-add, so concurrent payments here cannot pass
 * a cap together.
 *
 * @example const caps = spendingCaps({ perPayerDaily }, createMemoryCapCounter());
 */
export function createMemoryCapCounter(): CapCounter {
  const totals = new Map<string, bigint>();
  const reservations = new Map<string, { keys: string[]; amount: bigint }>();
  return {
    async tryReserve(id, limits, amount) {
      const over = limits.find((l) => (totals.get(l.key) ?? 0n) + amount > l.max);
      if (over) return { ok: false, limit: over };
      for (const l of limits) totals.set(l.key, (totals.get(l.key) ?? 0n) + amount);
      reservations.set(id, { keys: limits.map((l) => l.key), amount });
      return { ok: true };
    },
    async commit(id) {
      reservations.delete(id);
    },
    async release(id) {
      const r = reservations.get(id);
      if (!r) return;
      reservations.delete(id);
      for (const k of r.keys) totals.set(k, (totals.get(k) ?? 0n) - r.amount);
    },
    async total(key) {
      return totals.get(key) ?? 0n;
    },
  };
}
