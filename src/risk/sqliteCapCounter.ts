import { z } from 'zod';
import { openSqlite, tableName, type SqliteSource } from '../stores/openSqlite';
import { guardStore } from '../stores/storeErrors';
import type { CapCounter, CapLimit } from './capCounter';

/** Options of {@link createSqliteCapCounter}. */
export type SqliteCapCounterOptions = SqliteSource & { tablePrefix?: string };

const TotalSchema = z.object({ amount: z.string().regex(/^-?\d+$/) });
const ReservationSchema = z.object({ key: z.string(), amount: z.string().regex(/^\d+$/) });

/**
 * Cap totals in a SQLite file (better-sqlite3), shared by every process that opens it: each reservation is one
 * IMMEDIATE transaction (read the totals, check every limit, add), so instances behind one load balancer on one
 * machine cannot pass a cap together. Amounts are decimal text (no 2^53 limit).
 *
 * @example const risk = riskControls({ caps, capCounter: createSqliteCapCounter({ path: './data/risk.sqlite' }) });
 */
export function createSqliteCapCounter(options: SqliteCapCounterOptions): CapCounter & { close(): void } {
  const { db, owned } = openSqlite(options);
  const totals = tableName(options.tablePrefix ?? 'x402_', 'cap_totals');
  const held = tableName(options.tablePrefix ?? 'x402_', 'cap_reservations');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${totals} (key TEXT PRIMARY KEY NOT NULL, amount TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ${held} (id TEXT NOT NULL, key TEXT NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (id, key)) WITHOUT ROWID;
  `);
  const getTotal = db.prepare(`SELECT amount FROM ${totals} WHERE key = ?`);
  const setTotal = db.prepare(
    `INSERT INTO ${totals} (key, amount) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET amount = excluded.amount`,
  );
  const hold = db.prepare(`INSERT OR REPLACE INTO ${held} (id, key, amount) VALUES (?, ?, ?)`);
  const heldOf = db.prepare(`SELECT key, amount FROM ${held} WHERE id = ?`);
  const drop = db.prepare(`DELETE FROM ${held} WHERE id = ?`);

  const read = (key: string): bigint => {
    const row = getTotal.get(key);
    return row === undefined ? 0n : BigInt(TotalSchema.parse(row).amount);
  };
  const reserveTx = db.transaction(
    (id: string, limits: readonly CapLimit[], amount: bigint): { ok: true } | { ok: false; limit: CapLimit } => {
      const over = limits.find((l) => read(l.key) + amount > l.max);
      if (over) return { ok: false, limit: over };
      for (const l of limits) {
        setTotal.run(l.key, (read(l.key) + amount).toString());
        hold.run(id, l.key, amount.toString());
      }
      return { ok: true };
    },
  );
  const releaseTx = db.transaction((id: string) => {
    for (const raw of heldOf.all(id)) {
      const r = ReservationSchema.parse(raw);
      setTotal.run(r.key, (read(r.key) - BigInt(r.amount)).toString());
    }
    drop.run(id);
  });

  return {
    tryReserve: (id, limits, amount) =>
      guardStore('sqlite caps', 'reserve', () => reserveTx.immediate(id, limits, amount)),
    commit: (id) =>
      guardStore('sqlite caps', 'commit', () => {
        drop.run(id);
      }),
    release: (id) => guardStore('sqlite caps', 'release', () => releaseTx.immediate(id)),
    total: (key) => guardStore('sqlite caps', 'total', () => read(key)),
    close() {
      if (owned && db.open) db.close();
    },
  };
}
