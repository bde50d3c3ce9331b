/** A rail's breaker: closed (settling), open (refusing until `retryAt`), or half-open (one trial settling). */
export type BreakerState = {
  rail: string;
  state: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  openedAt?: number;
  retryAt?: number;
};

/** When a breaker opens and how long it stays open. */
export type CircuitBreakerOptions = {
  /** Consecutive settlement failures (unreachable node, unconfirmed broadcast) that open it (default 5). */
  failureThreshold?: number;
  /** How long it stays open before one trial payment may settle (default 30 s). */
  cooldownMs?: number;
  /** Told when a breaker opens or closes. */
  onChange?: (state: BreakerState) => void;
};

/** Per-rail circuit breakers of {@link riskControls}. */
export type CircuitBreakers = {
  /** True when a payment on `rail` may settle now (a half-open breaker lets exactly one trial through). */
  admit(rail: string, now: number): boolean;
  /** Records a settlement that worked: the breaker closes. */
  succeeded(rail: string): void;
  /** Records a settlement that failed for infrastructure reasons. */
  failed(rail: string, now: number): void;
  /** Gives back a trial that never reached settlement (refused by something else). */
  abandon(rail: string): void;
  /** Every rail's breaker, for a status page. */
  states(now: number): BreakerState[];
};

/**
 * Creates per-rail circuit breakers: after `failureThreshold` consecutive infrastructure failures a rail
 * stops settling for `cooldownMs` (its verified payments are answered 503 `breaker_open`, nothing charged),
 * then lets one trial through; its success closes the breaker, its failure opens it again.
 *
 * @example const breakers = circuitBreakers({ failureThreshold: 3, cooldownMs: 10_000 });
 */
export function circuitBreakers(options: CircuitBreakerOptions = {}): CircuitBreakers {
  const threshold = options.failureThreshold ?? 5;
  const cooldown = options.cooldownMs ?? 30_000;
  const rails = new Map<string, BreakerState & { trial: boolean }>();
  const of = (rail: string) => {
    let b = rails.get(rail);
    if (!b) rails.set(rail, (b = { rail, state: 'closed', consecutiveFailures: 0, trial: false }));
    return b;
  };
  const view = ({ trial: _trial, ...state }: BreakerState & { trial: boolean }): BreakerState => ({ ...state });
  const change = (b: BreakerState & { trial: boolean }) => options.onChange?.(view(b));

  return {
    admit(rail, now) {
      const b = of(rail);
      if (b.state === 'closed') return true;
      if (b.state === 'open' && now >= (b.retryAt ?? 0)) b.state = 'half-open';
      if (b.state === 'half-open' && !b.trial) {
        b.trial = true;
        return true;
      }
      return false;
    },
    succeeded(rail) {
      const b = of(rail);
      const was = b.state;
      Object.assign(b, {
        state: 'closed',
        consecutiveFailures: 0,
        trial: false,
        openedAt: undefined,
        retryAt: undefined,
      });
      if (was !== 'closed') change(b);
    },
    failed(rail, now) {
      const b = of(rail);
      b.consecutiveFailures++;
      if (b.state === 'half-open' || (b.state === 'closed' && b.consecutiveFailures >= threshold)) {
        Object.assign(b, { state: 'open', trial: false, openedAt: now, retryAt: now + cooldown });
        change(b);
      }
    },
    abandon(rail) {
      const b = of(rail);
      if (b.state === 'half-open') b.trial = false;
    },
    states(now) {
      return [...rails.values()].map((b) =>
        view(b.state === 'open' && now >= (b.retryAt ?? 0) ? { ...b, state: 'half-open' } : b),
      );
    },
  };
}
