import { BudgetExceededError } from '../core/errors';

/** A spending budget over a window, per asset, optionally per origin. */
export type Budget = {
  /** Asset this budget counts: an asset id (`0x…`, mint, `msat`) or `network/asset`. */
  asset: string;
  /** Most that may be spent in the window, atomic units. */
  limit: bigint | string;
  /** Rolling window. */
  window: 'hour' | 'day' | 'total';
  /** Count each origin separately (default: all origins together). */
  perOrigin?: boolean;
  /** Only these origins count against this budget (default: all). */
  origin?: string;
};

/** A held amount; commit it once paid, release it when the payment did not happen. */
export type Reservation = { commit(): void | Promise<void>; release(): void | Promise<void>; readonly amount: bigint };

/** A reservation of an in-process or SQLite ledger: settled synchronously. */
export type LocalReservation = { commit(): void; release(): void; readonly amount: bigint };

/** What a reservation is for. */
export type SpendRequest = { origin: string; network: string; asset: string; amount: bigint; now: number };

type Entry = {
  origin: string;
  network: string;
  asset: string;
  amount: bigint;
  at: number;
  state: 'reserved' | 'committed';
};

/** Length of each budget window, ms (a total budget never forgets). Shared by every ledger. */
export const BUDGET_WINDOW_MS = { hour: 3_600_000, day: 86_400_000, total: Number.POSITIVE_INFINITY } as const;

/**
 * Budgets with atomic reservation. `reserve` checks every matching budget and records the hold in the same
 * synchronous step, so concurrent requests in one process can never overspend; a failed payment releases
 * its hold. Share one ledger between several `payingFetch` instances to share budgets.
 *
 * @example
 * const ledger = createBudgetLedger([{ asset: 'msat', limit: 1_000_000n, window: 'hour' }]);
 */
export type BudgetLedger = {
  /** Holds `amount` or throws (rejects with) BudgetExceededError naming the budget. */
  reserve(spend: SpendRequest): Reservation | Promise<Reservation>;
  /** Spent plus held against a budget right now. */
  used(budget: Budget, origin: string, now?: number): bigint | Promise<bigint>;
  readonly budgets: readonly Budget[];
};

/** A {@link BudgetLedger} that answers synchronously (memory, SQLite). */
export type LocalBudgetLedger = {
  reserve(spend: SpendRequest): LocalReservation;
  used(budget: Budget, origin: string, now?: number): bigint;
  readonly budgets: readonly Budget[];
};

/**
 * The refusal of a spend that would pass `budget` (every ledger answers the same words and details).
 *
 * @example if (spent + spend.amount > BigInt(budget.limit)) throw budgetExceeded(spend, budget, spent);
 */
export function budgetExceeded(spend: SpendRequest, budget: Budget, spent: bigint | string): BudgetExceededError {
  const limit = BigInt(budget.limit);
  return new BudgetExceededError(
    `Paying ${spend.amount} ${spend.asset} would exceed the ${budget.window} budget of ${limit} (${spent} already spent or held). Raise the budget or wait.`,
    {
      budget: `${budget.window}:${budget.asset}`,
      limit: limit.toString(),
      spent: spent.toString(),
      requested: spend.amount.toString(),
      asset: spend.asset,
    },
  );
}

/**
 * True when a spend counts against a budget: its asset (or `network/asset`) and, for an origin-bound budget, its
 * origin. (A per-origin budget counts each origin apart; the ledgers key that themselves.)
 */
export function budgetCovers(budget: Budget, spend: { origin: string; network: string; asset: string }): boolean {
  return (
    assetMatches(budget.asset, spend.network, spend.asset) &&
    (budget.origin === undefined || budget.origin === spend.origin)
  );
}

/** True when an asset reference (`asset` or `network/asset`) names this network's asset. */
export function assetMatches(reference: string, network: string, asset: string): boolean {
  const ref = reference.toLowerCase();
  return ref === asset.toLowerCase() || ref === `${network}/${asset}`.toLowerCase();
}

/** Creates a budget ledger. */
export function createBudgetLedger(budgets: Budget[] = []): LocalBudgetLedger {
  let entries: Entry[] = [];
  const applies = (b: Budget, e: { origin: string; network: string; asset: string }, origin: string) =>
    budgetCovers(b, e) && (!b.perOrigin || e.origin === origin);

  function used(budget: Budget, origin: string, now = Date.now()): bigint {
    const since = now - BUDGET_WINDOW_MS[budget.window];
    let sum = 0n;
    for (const e of entries) if (e.at > since && applies(budget, e, origin)) sum += e.amount;
    return sum;
  }

  function prune(now: number): void {
    if (budgets.some((b) => b.window === 'total')) return;
    const horizon = now - Math.max(...budgets.map((b) => BUDGET_WINDOW_MS[b.window]), 0);
    if (entries.length > 1024) entries = entries.filter((e) => e.at > horizon);
  }

  return {
    budgets,
    used,
    reserve(spend) {
      prune(spend.now);
      for (const budget of budgets) {
        if (!applies(budget, spend, spend.origin)) continue;
        const limit = BigInt(budget.limit);
        const spent = used(budget, spend.origin, spend.now);
        if (spent + spend.amount > limit) throw budgetExceeded(spend, budget, spent);
      }
      const entry: Entry = {
        origin: spend.origin,
        network: spend.network,
        asset: spend.asset,
        amount: spend.amount,
        at: spend.now,
        state: 'reserved',
      };
      entries.push(entry);
      let settled = false;
      return {
        amount: spend.amount,
        commit() {
          if (settled) return;
          settled = true;
          entry.state = 'committed';
        },
        release() {
          if (settled) return;
          settled = true;
          entries = entries.filter((e) => e !== entry);
        },
      };
    },
  };
}
