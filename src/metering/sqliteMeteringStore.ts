import type Database from 'better-sqlite3';
import { openSqlite, tableName, type SqliteSource } from '../stores/openSqlite';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import type { MeteringStore } from './meteringStore';
import { isDueForSettlement, meteringStoreOver } from './meteringStoreOver';
import { sessionFromJson, sessionToJson, type MeterSession } from './meterSession';

/** Options of {@link createSqliteMeteringStore}: a file `path` (created if missing) or an open `database`. */
export type SqliteMeteringStoreParameters = SqliteSource & {
  /** Prefix of the table name (default `x402_`; the table is `<prefix>metering`). */
  tablePrefix?: string;
  /** How long a write waits for another connection's lock before StoreUnavailableError (default 5 s). */
  busyTimeoutMs?: number;
};

/** A {@link MeteringStore} in a SQLite file. */
export type SqliteMeteringStore = MeteringStore & {
  readonly database: Database.Database;
  /** Closes the database if the store opened it (`close(id)` closes a session). */
  closeDatabase(): void;
};

/**
 * SQLite {@link MeteringStore} on better-sqlite3: sessions, balances and refund records survive a restart
 * (a client can still close and be refunded), and several processes on one machine share them. Every change
 * reads, decides (the same rules as every metering store) and writes back inside one IMMEDIATE transaction,
 * so reservations from any number of connections never pass the authorization.
 *
 * @example const meter = metering({ token, signer, routes, store: createSqliteMeteringStore({ path: './data/x402.sqlite' }) });
 */
export function createSqliteMeteringStore(parameters: SqliteMeteringStoreParameters): SqliteMeteringStore {
  const { db, owned } = openSqlite(parameters, parameters.busyTimeoutMs);
  const t = tableName(parameters.tablePrefix ?? 'x402_', 'metering');
  // The partial index holds only authorized sessions whose close is not recorded (what settleExpired looks for), so
  // the listing reads those alone; an expression index needs no new column, so existing files gain it as they open.
  const due = `json_extract(session, '$.authorization') IS NOT NULL AND json_extract(session, '$.finalReceipt') IS NULL`;
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t} (id TEXT PRIMARY KEY NOT NULL, session TEXT NOT NULL) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${t}_due ON ${t} (json_extract(session, '$.expiresAt')) WHERE ${due};
  `);
  const dueStmt = db.prepare(`
    SELECT id, session FROM ${t}
    WHERE ${due} AND json_extract(session, '$.expiresAt') <= ? AND coalesce(json_extract(session, '$.refund.status'), '') <> 'in_progress'
    ORDER BY json_extract(session, '$.expiresAt') LIMIT ?`);
  const getStmt = db.prepare(`SELECT session FROM ${t} WHERE id = ?`);
  const upsertStmt = db.prepare(
    `INSERT INTO ${t} (id, session) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET session = excluded.session`,
  );

  function read(id: string): MeterSession | undefined {
    return parseRow(id, getStmt.get(id));
  }

  function parseRow(id: string, row: unknown): MeterSession | undefined {
    if (row === undefined) return undefined;
    const text =
      typeof row === 'object' && row !== null && 'session' in row && typeof row.session === 'string'
        ? row.session
        : undefined;
    const session = text === undefined ? undefined : sessionFromJson(text);
    if (!session) throw new StoreCorruptError('sqlite metering', id, 'the row is not a metering session');
    return session;
  }

  const store = meteringStoreOver(
    (id, decide) =>
      guardStore('sqlite', 'update metering session', () =>
        db
          .transaction(() => {
            const { result, next } = decide(read(id));
            if (next) upsertStmt.run(id, sessionToJson(next));
            return result;
          })
          .immediate(),
      ),
    (id) => guardStore('sqlite', 'get metering session', () => read(id)),
    (now, limit) =>
      guardStore('sqlite', 'list metering sessions due', () =>
        dueStmt.all(now, limit).flatMap((row: unknown) => {
          const id =
            typeof row === 'object' && row !== null && 'id' in row && typeof row.id === 'string' ? row.id : '?';
          const session = parseRow(id, row);
          return session && isDueForSettlement(session, now) ? [session] : [];
        }),
      ),
  );

  return {
    ...store,
    database: db,
    closeDatabase() {
      if (owned && db.open) db.close();
    },
  };
}
