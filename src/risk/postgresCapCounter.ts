import { z } from 'zod';
import { lockDecision, PgAmount, postgresRunner, type PostgresSource } from '../stores/postgres';
import { migratePostgres, postgresTables, type PostgresTablesParameters } from '../stores/postgresSchema';
import { guardStore } from '../stores/storeErrors';
import type { CapCounter, CapLimit } from './capCounter';

/** Options of {@link createPostgresCapCounter}: the pool (or PGlite) and a table prefix. */
export type PostgresCapCounterParameters = PostgresSource & PostgresTablesParameters;

const TotalRow = z.object({ key: z.string(), amount: PgAmount });
const HeldRow = z.object({ key: z.string(), amount: PgAmount });

/**
 * Cap totals in Postgres, shared by every instance on one database: a reservation takes the advisory lock of each
 * of its keys (sorted), reads the totals, checks every limit and adds, in one READ COMMITTED transaction, so
 * instances behind a load balancer cannot pass a cap together. A release takes back exactly what its reservation
 * added (held per reservation id); amounts are NUMERIC(78,0) (no 2^53 limit).
 *
 * @example
 * const capCounter = createPostgresCapCounter({ pool });
 * await capCounter.migrate();
 * const risk = riskControls({ caps, capCounter });
 */
export function createPostgresCapCounter(
  parameters: PostgresCapCounterParameters,
): CapCounter & { migrate(): Promise<void> } {
  const db = postgresRunner(parameters);
  const tables = postgresTables(parameters.tablePrefix);
  const totals = tables.capTotals;
  const held = tables.capReservations;
  const store = `${db.kind} caps`;
  const lockName = (key: string) => `${totals}:${key}`;

  return {
    migrate: () => migratePostgres(parameters, parameters),
    tryReserve: (id, limits, amount) =>
      guardStore(store, 'reserve', () =>
        db.transaction(async (query): Promise<{ ok: true } | { ok: false; limit: CapLimit }> => {
          await lockDecision(
            query,
            limits.map((l) => lockName(l.key)),
          );
          const rows = await query(`SELECT key, amount::text FROM ${totals} WHERE key = ANY($1::text[])`, [
            limits.map((l) => l.key),
          ]);
          const current = new Map(rows.map((raw) => TotalRow.parse(raw)).map((r) => [r.key, r.amount]));
          const over = limits.find((l) => (current.get(l.key) ?? 0n) + amount > l.max);
          if (over) return { ok: false, limit: over };
          for (const l of limits) {
            await query(
              `INSERT INTO ${totals} (key, amount) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET amount = ${totals}.amount + excluded.amount`,
              [l.key, amount.toString()],
            );
            await query(
              `INSERT INTO ${held} (id, key, amount) VALUES ($1, $2, $3) ON CONFLICT (id, key) DO UPDATE SET amount = excluded.amount`,
              [id, l.key, amount.toString()],
            );
          }
          return { ok: true };
        }),
      ),
    commit: (id) =>
      guardStore(store, 'commit', async () => {
        await db.query(`DELETE FROM ${held} WHERE id = $1`, [id]);
      }),
    release: (id) =>
      guardStore(store, 'release', () =>
        db.transaction(async (query) => {
          // The holds are deleted first (one release wins them), then their amounts leave the totals under the keys' locks.
          const rows = (await query(`DELETE FROM ${held} WHERE id = $1 RETURNING key, amount::text`, [id])).map((raw) =>
            HeldRow.parse(raw),
          );
          await lockDecision(
            query,
            rows.map((r) => lockName(r.key)),
          );
          for (const r of rows)
            await query(`UPDATE ${totals} SET amount = amount - $2 WHERE key = $1`, [r.key, r.amount.toString()]);
        }),
      ),
    total: (key) =>
      guardStore(store, 'total', async () => {
        const [raw] = await db.query(`SELECT key, amount::text FROM ${totals} WHERE key = $1`, [key]);
        return raw === undefined ? 0n : TotalRow.parse(raw).amount;
      }),
  };
}
