import { z } from 'zod';
import { lockDecision, postgresRunner, type PgQuery, type PostgresSource } from '../stores/postgres';
import { migratePostgres, postgresTables, type PostgresTablesParameters } from '../stores/postgresSchema';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import type { MeteringStore } from './meteringStore';
import { isDueForSettlement, meteringStoreOver } from './meteringStoreOver';
import { sessionFromJson, sessionToJson, type MeterSession } from './meterSession';

/** Options of {@link createPostgresMeteringStore}: the pool (or PGlite) and a table prefix. */
export type PostgresMeteringStoreParameters = PostgresSource & PostgresTablesParameters;

/** A {@link MeteringStore} in Postgres, with the migration of its tables. */
export type PostgresMeteringStore = MeteringStore & {
  /** Creates the tables of every Postgres store under this prefix; idempotent. */
  migrate(): Promise<void>;
};

const RowSchema = z.object({ id: z.string(), session: z.string() });

/**
 * Postgres {@link MeteringStore}: sessions, balances and refund records shared by every instance on one database.
 * Every change takes the session's advisory lock, reads, decides with the same rules as every metering store and
 * writes back in one READ COMMITTED transaction, so reservations from any number of instances never pass the
 * authorization. Authorized sessions whose settlement is still to be done carry their expiry in an indexed
 * `due_at` column, so any instance's `settleExpired` lists them.
 *
 * @example
 * const store = createPostgresMeteringStore({ pool });
 * await store.migrate();
 * const meter = metering({ token, signer, routes, store });
 */
export function createPostgresMeteringStore(parameters: PostgresMeteringStoreParameters): PostgresMeteringStore {
  const db = postgresRunner(parameters);
  const t = postgresTables(parameters.tablePrefix).metering;
  const store = `${db.kind} metering`;

  function parse(raw: unknown): MeterSession {
    const row = RowSchema.safeParse(raw);
    const session = row.success ? sessionFromJson(row.data.session) : undefined;
    if (!session)
      throw new StoreCorruptError(store, row.success ? row.data.id : '?', 'the row is not a metering session');
    return session;
  }
  async function read(query: PgQuery, id: string): Promise<MeterSession | undefined> {
    const [raw] = await query(`SELECT id, session FROM ${t} WHERE id = $1`, [id]);
    return raw === undefined ? undefined : parse(raw);
  }

  const over = meteringStoreOver(
    (id, decide) =>
      guardStore(db.kind, 'update metering session', () =>
        db.transaction(async (query) => {
          await lockDecision(query, [`${t}:${id}`]);
          const { result, next } = decide(await read(query, id));
          if (next) {
            const dueAt = isDueForSettlement(next, Number.POSITIVE_INFINITY) ? next.expiresAt : null;
            await query(
              `INSERT INTO ${t} (id, session, due_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET session = excluded.session, due_at = excluded.due_at`,
              [id, sessionToJson(next), dueAt],
            );
          }
          return result;
        }),
      ),
    (id) => guardStore(db.kind, 'get metering session', () => read(db.query, id)),
    (now, limit) =>
      guardStore(db.kind, 'list metering sessions due', async () => {
        const rows = await db.query(
          `SELECT id, session FROM ${t} WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2`,
          [now, limit],
        );
        return rows.map(parse).filter((s) => isDueForSettlement(s, now));
      }),
  );
  return { ...over, migrate: () => migratePostgres(parameters, parameters) };
}
