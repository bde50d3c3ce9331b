import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  BUDGET_WINDOW_MS,
  budgetCovers,
  budgetExceeded,
  type Budget,
  type BudgetLedger,
  type Reservation,
} from '../client/budgetLedger';
import { ConfigurationError } from '../core/errors';
import { lockDecision, PgAmount, PgNumber, postgresRunner, type PgQuery, type PostgresSource } from './postgres';
import { migratePostgres, postgresTables, type PostgresTablesParameters } from './postgresSchema';
import { guardStore } from './storeErrors';

/** Options of {@link createPostgresBudgetLedger}: the pool (or PGlite), the budgets, a table prefix. */
export type PostgresBudgetLedgerParameters = PostgresSource &
  PostgresTablesParameters & {
    /** The budgets (configuration; every client sharing them must pass the same ones). */
    budgets: Budget[];
  };

const SumRow = z.object({ amount: PgAmount });
const IdRow = z.object({ id: PgNumber });

/**
 * Client budgets in Postgres, shared by every client (machine, process) on one database: the same
 * {@link BudgetLedger} contract as the memory, SQLite and Redis ledgers (rolling hour / day / total windows, per
 * origin). A reservation takes the advisory lock of every budget it counts against (sorted), sums what each already
 * holds, checks, and records the hold, in one READ COMMITTED transaction, so clients racing on several machines can
 * never overspend. A release deletes the hold; a hold left by a client that died before commit or release keeps
 * counting (money that may have moved is never forgotten). Amounts are NUMERIC(78,0).
 *
 * @example
 * const ledger = createPostgresBudgetLedger({ pool, budgets: [{ asset: 'msat', limit: 1_000_000n, window: 'day' }] });
 * await ledger.migrate();
 * const pay = payingFetch(fetch, { adapters, wallets, ledger });
 */
export function createPostgresBudgetLedger(
  parameters: PostgresBudgetLedgerParameters,
): BudgetLedger & { migrate(): Promise<void> } {
  const { budgets } = parameters;
  for (const b of budgets) {
    if (BigInt(b.limit) < 0n)
      throw new ConfigurationError(`Budget limit ${String(b.limit)} for ${b.asset} must not be negative.`);
  }
  const db = postgresRunner(parameters);
  const t = postgresTables(parameters.tablePrefix).budgetEntries;
  const store = `${db.kind} budget`;
  // A budget's lock is its identity (not its limit) and its origin scope, as the Redis ledger's keys.
  const lockOf = (b: Budget, origin: string) => {
    const id = createHash('sha256')
      .update(JSON.stringify([b.asset.toLowerCase(), b.window, b.origin ?? null, b.perOrigin === true]))
      .digest('hex')
      .slice(0, 24);
    return `${t}:${id}:${b.perOrigin ? origin : '*'}`;
  };

  async function used(query: PgQuery, budget: Budget, origin: string, now: number): Promise<bigint> {
    const window = BUDGET_WINDOW_MS[budget.window];
    const [row] = await query(
      `SELECT COALESCE(SUM(amount), 0)::text AS amount FROM ${t}
       WHERE (asset_lc = $1 OR network_asset_lc = $1) AND ($2::bigint IS NULL OR at > $2) AND ($3::text IS NULL OR origin = $3) AND ($4::text IS NULL OR origin = $4)`,
      [
        budget.asset.toLowerCase(),
        Number.isFinite(window) ? now - window : null,
        budget.origin ?? null,
        budget.perOrigin ? origin : null,
      ],
    );
    return SumRow.parse(row).amount;
  }

  return {
    budgets,
    migrate: () => migratePostgres(parameters, parameters),
    used: (budget, origin, now = Date.now()) => guardStore(store, 'used', () => used(db.query, budget, origin, now)),
    async reserve(spend): Promise<Reservation> {
      if (spend.amount < 0n) throw new ConfigurationError(`Cannot reserve a negative amount (${spend.amount}).`);
      const matching = budgets.filter((b) => budgetCovers(b, spend));
      const id = await guardStore(store, 'reserve', () =>
        db.transaction(async (query) => {
          await lockDecision(
            query,
            matching.map((b) => lockOf(b, spend.origin)),
          );
          for (const budget of matching) {
            const spent = await used(query, budget, spend.origin, spend.now);
            if (spent + spend.amount > BigInt(budget.limit)) throw budgetExceeded(spend, budget, spent);
          }
          const [row] = await query(
            `INSERT INTO ${t} (origin, network, asset, asset_lc, network_asset_lc, amount, at, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'reserved') RETURNING id`,
            [
              spend.origin,
              spend.network,
              spend.asset,
              spend.asset.toLowerCase(),
              `${spend.network}/${spend.asset}`.toLowerCase(),
              spend.amount.toString(),
              spend.now,
            ],
          );
          return IdRow.parse(row).id;
        }),
      );
      let settled = false;
      return {
        amount: spend.amount,
        async commit() {
          if (settled) return;
          settled = true;
          await guardStore(store, 'commit', () =>
            db.query(`UPDATE ${t} SET state = 'committed' WHERE id = $1 AND state = 'reserved'`, [id]),
          );
        },
        async release() {
          if (settled) return;
          settled = true;
          await guardStore(store, 'release', () =>
            db.query(`DELETE FROM ${t} WHERE id = $1 AND state = 'reserved'`, [id]),
          );
        },
      };
    },
  };
}
