import type Database from 'better-sqlite3';
import { z } from 'zod';
import { openSqlite, tableName, type SqliteSource } from '../stores/openSqlite';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import { encodeCachedResponse, entryOf } from './cachedResponseCodec';
import type { IdempotencyEntry, IdempotencyStore } from './idempotencyStore';

/** Options of {@link createSqliteIdempotencyStore}: a file `path` (created if missing) or an open `database`. */
export type SqliteIdempotencyStoreParameters = SqliteSource & {
  /** Prefix of the table name (default `x402_`; the table is `<prefix>idempotency`). */
  tablePrefix?: string;
  /** How long a write waits for another connection's lock before StoreUnavailableError (default 5 s). */
  busyTimeoutMs?: number;
  /** Delete expired rows every this many reservations (default 1,000). */
  sweepEvery?: number;
};

/** An {@link IdempotencyStore} in a SQLite file. */
export type SqliteIdempotencyStore = IdempotencyStore & {
  readonly database: Database.Database;
  /** Closes the database if the store opened it. */
  close(): void;
};

const RowSchema = z.object({ fingerprint: z.string(), response: z.string().nullable(), expires_at: z.number() });

/**
 * SQLite {@link IdempotencyStore} for `payment-identifier` on better-sqlite3 (WAL, busy timeout, as the other SQLite
 * stores): ids and their kept answers survive a restart, and several processes on one machine share them. `reserve`
 * reads and writes inside one IMMEDIATE transaction, so of concurrent first uses of an id exactly one reserves it.
 *
 * @example paymentIdentifier({ store: createSqliteIdempotencyStore({ path: './data/x402.sqlite' }) })
 */
export function createSqliteIdempotencyStore(parameters: SqliteIdempotencyStoreParameters): SqliteIdempotencyStore {
  const { db, owned } = openSqlite(parameters, parameters.busyTimeoutMs);
  const t = tableName(parameters.tablePrefix ?? 'x402_', 'idempotency');
  const sweepEvery = parameters.sweepEvery ?? 1000;
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t} (
      key         TEXT PRIMARY KEY NOT NULL,
      fingerprint TEXT NOT NULL,
      response    TEXT,
      expires_at       INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${t}_until ON ${t} (expires_at);
  `);
  const getStmt = db.prepare(`SELECT fingerprint, response, expires_at FROM ${t} WHERE key = ?`);
  const putStmt = db.prepare(
    `INSERT OR REPLACE INTO ${t} (key, fingerprint, response, expires_at) VALUES (?, ?, ?, ?)`,
  );
  const sweepStmt = db.prepare(`DELETE FROM ${t} WHERE expires_at <= ?`);
  let reservations = 0;

  function live(key: string, now: number): z.infer<typeof RowSchema> | undefined {
    const raw = getStmt.get(key);
    if (raw === undefined) return undefined;
    const parsed = RowSchema.safeParse(raw);
    if (!parsed.success)
      throw new StoreCorruptError('sqlite idempotency', key, 'the row does not match the table layout', {
        cause: parsed.error,
      });
    return parsed.data.expires_at > now ? parsed.data : undefined;
  }

  const reserve = db.transaction((key: string, fingerprint: string, ttlMs: number, now: number) => {
    const row = live(key, now);
    if (row) {
      const entry = entryOf(row.fingerprint, row.response);
      if (entry === 'corrupt')
        throw new StoreCorruptError('sqlite idempotency', key, 'the kept answer does not decode');
      return entry;
    }
    putStmt.run(key, fingerprint, null, now + ttlMs);
    return undefined;
  });
  const complete = db.transaction((key: string, fingerprint: string, response: string, ttlMs: number, now: number) => {
    const row = live(key, now);
    if (row && row.fingerprint !== fingerprint) return;
    putStmt.run(key, fingerprint, response, now + ttlMs);
  });

  return {
    database: db,
    reserve: (key, fingerprint, ttlMs, now) =>
      guardStore('sqlite idempotency', 'reserve', (): IdempotencyEntry | undefined => {
        if (++reservations % sweepEvery === 0) sweepStmt.run(now);
        return reserve.immediate(key, fingerprint, ttlMs, now);
      }),
    complete: (key, fingerprint, response, ttlMs, now) =>
      guardStore('sqlite idempotency', 'complete', () => {
        complete.immediate(key, fingerprint, encodeCachedResponse(response), ttlMs, now);
      }),
    close() {
      if (owned) db.close();
    },
  };
}
