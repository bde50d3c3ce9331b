import type Database from 'better-sqlite3';
import { z } from 'zod';
import {
  BUDGET_WINDOW_MS,
  budgetCovers,
  budgetExceeded,
  type Budget,
  type LocalBudgetLedger,
  type LocalReservation,
  type SpendRequest,
} from '../client/budgetLedger';
import { ConfigurationError, X402RailsError } from '../core/errors';
import { StoreUnavailableError } from './storeErrors';
import { openSqlite, tableName } from './openSqlite';

/** Options of {@link createSqliteBudgetLedger}. */
export type SqliteBudgetLedgerOptions = {
  /** Prefix of the table name (default `x402_`). */
  tablePrefix?: string;
};

/** A {@link BudgetLedger} kept in a SQLite file. */
export type SqliteBudgetLedger = LocalBudgetLedger & {
  /** The database in use. */
  readonly database: Database.Database;
  /** Closes the database if the ledger opened it. */
  close(): void;
};

const PRUNE_EVERY = 256;

const AmountRow = z.object({ amount: z.string().regex(/^\d{1,78}$/) });

/**
 * Client budgets that survive restarts and are shared by every process using the same file: the same
 * {@link BudgetLedger} as `createBudgetLedger` (reserve → commit / release, rolling hour / day / total
 * windows, per origin), with each reservation's check-and-insert in one IMMEDIATE transaction, so two
 * processes sharing the file can never overspend. A hold left by a process that died before commit or
 * release keeps counting (spent money is never forgotten); budgets themselves are configuration, not stored.
 *
 * @example
 * const ledger = createSqliteBudgetLedger('./budgets.sqlite', [{ asset: 'msat', limit: 1_000_000n, window: 'day' }]);
 * const pay = payingFetch({ wallets, rails, ledger });
 */
export function createSqliteBudgetLedger(
  path: string | Database.Database,
  budgets: Budget[] = [],
  options: SqliteBudgetLedgerOptions = {},
): SqliteBudgetLedger {
  for (const b of budgets) {
    if (BigInt(b.limit) < 0n)
      throw new ConfigurationError(`Budget limit ${String(b.limit)} for ${b.asset} must not be negative.`);
  }
  const { db, owned } = openSqlite(typeof path === 'string' ? { path } : { database: path });
  const t = tableName(options.tablePrefix ?? 'x402_', 'budget_entries');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t} (
      id               INTEGER PRIMARY KEY AUTOINCREMENT,
      origin           TEXT NOT NULL,
      network          TEXT NOT NULL,
      asset            TEXT NOT NULL,
      asset_lc         TEXT NOT NULL,
      network_asset_lc TEXT NOT NULL,
      amount           TEXT NOT NULL,
      at               INTEGER NOT NULL,
      state            TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${t}_asset ON ${t} (asset_lc, at);
    CREATE INDEX IF NOT EXISTS ${t}_network_asset ON ${t} (network_asset_lc, at);
    CREATE INDEX IF NOT EXISTS ${t}_at ON ${t} (at);
  `);

  // An asset reference matches an entry by asset id or by `network/asset`, case-insensitively (as assetMatches).
  const sumStmt = db.prepare(`
    SELECT amount FROM ${t}
    WHERE (asset_lc = @ref OR network_asset_lc = @ref)
      AND (@since IS NULL OR at > @since)
      AND (@only IS NULL OR origin = @only)
      AND (@per IS NULL OR origin = @per)`);
  const insertStmt = db.prepare(`
    INSERT INTO ${t} (origin, network, asset, asset_lc, network_asset_lc, amount, at, state)
    VALUES (@origin, @network, @asset, @assetLc, @networkAssetLc, @amount, @at, 'reserved')`);
  const commitStmt = db.prepare(`UPDATE ${t} SET state = 'committed' WHERE id = ? AND state = 'reserved'`);
  const releaseStmt = db.prepare(`DELETE FROM ${t} WHERE id = ? AND state = 'reserved'`);
  const pruneStmt = db.prepare(`DELETE FROM ${t} WHERE at <= ?`);

  function used(budget: Budget, origin: string, now = Date.now()): bigint {
    const window = BUDGET_WINDOW_MS[budget.window];
    const rows = sumStmt.all({
      ref: budget.asset.toLowerCase(),
      since: Number.isFinite(window) ? now - window : null,
      only: budget.origin ?? null,
      per: budget.perOrigin ? origin : null,
    });
    let sum = 0n;
    for (const row of rows) sum += BigInt(AmountRow.parse(row).amount);
    return sum;
  }

  let reservations = 0;
  function prune(now: number): void {
    if (++reservations % PRUNE_EVERY !== 0 || budgets.length === 0 || budgets.some((b) => b.window === 'total')) return;
    pruneStmt.run(now - Math.max(...budgets.map((b) => BUDGET_WINDOW_MS[b.window])));
  }

  const reserveTx = db.transaction((spend: SpendRequest): number | bigint => {
    for (const budget of budgets) {
      if (!budgetCovers(budget, spend)) continue;
      const limit = BigInt(budget.limit);
      const spent = used(budget, spend.origin, spend.now);
      if (spent + spend.amount > limit) throw budgetExceeded(spend, budget, spent);
    }
    prune(spend.now);
    return insertStmt.run({
      origin: spend.origin,
      network: spend.network,
      asset: spend.asset,
      assetLc: spend.asset.toLowerCase(),
      networkAssetLc: `${spend.network}/${spend.asset}`.toLowerCase(),
      amount: spend.amount.toString(),
      at: spend.now,
    }).lastInsertRowid;
  });

  return {
    budgets,
    used,
    database: db,
    reserve(spend): LocalReservation {
      if (spend.amount < 0n) throw new ConfigurationError(`Cannot reserve a negative amount (${spend.amount}).`);
      let id: number | bigint;
      try {
        id = reserveTx.immediate(spend);
      } catch (error) {
        // Over budget stays BudgetExceededError; a locked or broken file must not look like "no budget left".
        if (error instanceof X402RailsError) throw error;
        throw new StoreUnavailableError('sqlite budget', 'reserve', error);
      }
      let settled = false;
      return {
        amount: spend.amount,
        commit() {
          if (settled) return;
          settled = true;
          commitStmt.run(id);
        },
        release() {
          if (settled) return;
          settled = true;
          releaseStmt.run(id);
        },
      };
    },
    close() {
      if (owned && db.open) db.close();
    },
  };
}
