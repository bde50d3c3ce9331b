/** When a payer is refused for failed settlements, and for how long. */
export type PayerFailuresOptions = {
  /** Settlements refused after the handler ran, per payer and route, that suspend the payer there (default 3). */
  failureThreshold?: number;
  /** How long a suspended payer is refused, and how long a failure counts (default 10 minutes). */
  cooldownMs?: number;
};

/** Per payer and route counts of settlements that failed after service (see {@link payerFailures}). */
export type PayerFailures = {
  /** True while `payer` is suspended on `route`. */
  suspended(route: string, payer: string, now: number): boolean;
  /** Records a settlement of `payer` on `route` refused after its handler ran. */
  failed(route: string, payer: string, now: number): void;
  /** Records a settlement that worked: the payer's count on `route` starts over. */
  succeeded(route: string, payer: string): void;
};

/**
 * A breaker per payer and route for payments that verify but do not settle (a payer who moves the funds away
 * between verify and settle, a signature the token refuses): each such payment got one handler run for
 * nothing, so after `failureThreshold` of them within `cooldownMs` the payer's next payments on that route are
 * refused before the handler (402 `payer_settlement_failures`) until `cooldownMs` has passed. Memory of one
 * process, bounded: counts older than the cooldown are dropped as they are met.
 *
 * @example const failures = payerFailures({ failureThreshold: 3, cooldownMs: 600_000 });
 */
export function payerFailures(options: PayerFailuresOptions = {}): PayerFailures {
  const threshold = options.failureThreshold ?? 3;
  const cooldown = options.cooldownMs ?? 600_000;
  const counts = new Map<string, { failures: number; since: number; until?: number }>();
  const key = (route: string, payer: string) => `${route}\n${payer.toLowerCase()}`;
  const current = (k: string, now: number) => {
    const c = counts.get(k);
    if (c && (c.until ?? c.since + cooldown) <= now) {
      counts.delete(k);
      return undefined;
    }
    return c;
  };
  return {
    suspended(route, payer, now) {
      const c = current(key(route, payer), now);
      return c?.until !== undefined;
    },
    failed(route, payer, now) {
      if (payer === '') return;
      const k = key(route, payer);
      const c = current(k, now) ?? { failures: 0, since: now };
      c.failures++;
      if (c.failures >= threshold) c.until = now + cooldown;
      counts.set(k, c);
    },
    succeeded(route, payer) {
      counts.delete(key(route, payer));
    },
  };
}
