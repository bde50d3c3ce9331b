import type Database from 'better-sqlite3';
import { openSqlite, tableName, type SqliteSource } from '../stores/openSqlite';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import type { MeteringStore } from './meteringStore';
import { commitDraw, refundApplies, reserveDraw, sessionFromJson, sessionToJson, withRefund, type MeterSession } from './meterSession';

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
 * reads, decides (the same pure rules as the memory store) and writes back inside one IMMEDIATE transaction,
 * so reservations from any number of connections never pass the authorization.
 *
 * @example const meter = metering({ token, signer, routes, store: createSqliteMeteringStore({ path: './data/x402.sqlite' }) });
 */
export function createSqliteMeteringStore(parameters: SqliteMeteringStoreParameters): SqliteMeteringStore {
  const { db, owned } = openSqlite(parameters, parameters.busyTimeoutMs);
  const t = tableName(parameters.tablePrefix ?? 'x402_', 'metering');
  db.exec(`CREATE TABLE IF NOT EXISTS ${t} (id TEXT PRIMARY KEY NOT NULL, session TEXT NOT NULL) WITHOUT ROWID;`);
  const getStmt = db.prepare(`SELECT session FROM ${t} WHERE id = ?`);
  const insertStmt = db.prepare(`INSERT INTO ${t} (id, session) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`);
  const updateStmt = db.prepare(`UPDATE ${t} SET session = ? WHERE id = ?`);

  function read(id: string): MeterSession | undefined {
    const row: unknown = getStmt.get(id);
    if (row === undefined) return undefined;
    const text = typeof row === 'object' && row !== null && 'session' in row && typeof row.session === 'string' ? row.session : undefined;
    const session = text === undefined ? undefined : sessionFromJson(text);
    if (!session) throw new StoreCorruptError('sqlite metering', id, 'the row is not a metering session');
    return session;
  }
  const write = (session: MeterSession) => updateStmt.run(sessionToJson(session), session.id);

  const openTx = db.transaction((session: MeterSession) => {
    insertStmt.run(session.id, sessionToJson(session));
    return read(session.id) ?? session;
  });
  const reserveTx = db.transaction((id: string, amount: bigint, now: number) => {
    const { result, next } = reserveDraw(read(id), amount, now);
    if (next) write(next);
    return result;
  });
  const commitTx = db.transaction((id: string, reserved: bigint, charged: bigint) => {
    const session = read(id);
    if (!session) return undefined;
    const { result, next } = commitDraw(session, reserved, charged);
    write(next);
    return result;
  });
  const closeTx = db.transaction((id: string) => {
    const session = read(id);
    if (!session) return undefined;
    const next = { ...session, closed: true };
    write(next);
    return next;
  });
  const setRefundTx = db.transaction((id: string, expected: Parameters<MeteringStore['setRefund']>[1], refund: Parameters<MeteringStore['setRefund']>[2], finalReceipt: Parameters<MeteringStore['setRefund']>[3]) => {
    const session = read(id);
    if (!session || !refundApplies(session, expected)) return { applied: false, ...(session ? { session } : {}) };
    const next = withRefund(session, refund, finalReceipt);
    write(next);
    return { applied: true, session: next };
  });

  return {
    database: db,
    open: (session) => guardStore('sqlite', 'open metering session', () => openTx.immediate(session)),
    reserve: (id, amount, now) => guardStore('sqlite', 'reserve metered call', () => reserveTx.immediate(id, amount, now)),
    commit: (id, reserved, charged) => guardStore('sqlite', 'commit metered call', () => commitTx.immediate(id, reserved, charged)),
    close: (id) => guardStore('sqlite', 'close metering session', () => closeTx.immediate(id)),
    setRefund: (id, expected, refund, finalReceipt) => guardStore('sqlite', 'record metering refund', () => setRefundTx.immediate(id, expected, refund, finalReceipt)),
    get: (id) => guardStore('sqlite', 'get metering session', () => read(id)),
    closeDatabase() {
      if (owned && db.open) db.close();
    },
  };
}
