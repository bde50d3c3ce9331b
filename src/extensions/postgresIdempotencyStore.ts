import { z } from 'zod';
import { PgNumber, postgresRunner, type PostgresSource } from '../stores/postgres';
import { postgresTables, type PostgresTablesParameters } from '../stores/postgresSchema';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import { encodeCachedResponse, entryOf } from './cachedResponseCodec';
import type { IdempotencyStore } from './idempotencyStore';

/** Options of {@link createPostgresIdempotencyStore}: the pool (or PGlite) and a table prefix. */
export type PostgresIdempotencyStoreParameters = PostgresSource & PostgresTablesParameters;

/** An {@link IdempotencyStore} in Postgres, with the migration of its table. */
export type PostgresIdempotencyStore = IdempotencyStore & {
  /** Creates the table `<prefix>idempotency`; idempotent. */
  migrate(): Promise<void>;
};

const RowSchema = z.object({ fingerprint: z.string(), response: z.string().nullable(), expires_at: PgNumber });

/**
 * Postgres {@link IdempotencyStore} for `payment-identifier`: ids and their kept answers shared by every instance on
 * one database. A reservation is one `INSERT … ON CONFLICT DO UPDATE … WHERE expired` (atomic on the row), so of
 * concurrent first uses of an id exactly one reserves it; an answer is recorded only over the same fingerprint.
 *
 * @example
 * const store = createPostgresIdempotencyStore({ pool });
 * await store.migrate();
 * paymentIdentifier({ store });
 */
export function createPostgresIdempotencyStore(
  parameters: PostgresIdempotencyStoreParameters,
): PostgresIdempotencyStore {
  const db = postgresRunner(parameters);
  // Checks the prefix as every Postgres store does; the table sits beside theirs.
  const t = `${postgresTables(parameters.tablePrefix).payments.slice(0, -'payments'.length)}idempotency`;
  const store = `${db.kind} idempotency`;
  return {
    migrate: () =>
      guardStore(store, 'migrate', async () => {
        await db.query(`CREATE TABLE IF NOT EXISTS ${t} (
          key         TEXT PRIMARY KEY,
          fingerprint TEXT NOT NULL,
          response    TEXT,
          expires_at       BIGINT NOT NULL
        )`);
        await db.query(`CREATE INDEX IF NOT EXISTS ${t}_until ON ${t} (expires_at)`);
      }),
    reserve: (key, fingerprint, ttlMs, now) =>
      guardStore(store, 'reserve', async () => {
        const taken = await db.query(
          `INSERT INTO ${t} (key, fingerprint, response, expires_at) VALUES ($1, $2, NULL, $3)
           ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, response = NULL, expires_at = EXCLUDED.expires_at
           WHERE ${t}.expires_at <= $4
           RETURNING key`,
          [key, fingerprint, now + ttlMs, now],
        );
        if (taken.length > 0) return undefined;
        const [raw] = await db.query(`SELECT fingerprint, response, expires_at FROM ${t} WHERE key = $1`, [key]);
        const parsed = RowSchema.safeParse(raw);
        if (!parsed.success)
          throw new StoreCorruptError(store, key, 'the row does not match the table layout', { cause: parsed.error });
        const entry = entryOf(parsed.data.fingerprint, parsed.data.response);
        if (entry === 'corrupt') throw new StoreCorruptError(store, key, 'the kept answer does not decode');
        return entry;
      }),
    complete: (key, fingerprint, response, ttlMs, now) =>
      guardStore(store, 'complete', async () => {
        await db.query(
          `INSERT INTO ${t} (key, fingerprint, response, expires_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, response = EXCLUDED.response, expires_at = EXCLUDED.expires_at
           WHERE ${t}.fingerprint = EXCLUDED.fingerprint OR ${t}.expires_at <= $5`,
          [key, fingerprint, encodeCachedResponse(response), now + ttlMs, now],
        );
      }),
  };
}
