import type Database from 'better-sqlite3';
import { z } from 'zod';
import { openSqlite, tableName, type SqliteSource } from '../stores/openSqlite';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import type { CapabilityStore } from './capabilityStore';
import {
  consumeCapability,
  initialCapabilityState,
  recordOf,
  restoreCapability,
  type CapabilityState,
} from './consumeCapability';

/** Options of {@link createSqliteCapabilityStore}: a file `path` (created if missing) or an open `database`. */
export type SqliteCapabilityStoreParameters = SqliteSource & {
  /** Prefix of the table name (default `x402_`; the table is `<prefix>capabilities`). */
  tablePrefix?: string;
  /** How long a write waits for another connection's lock before StoreUnavailableError (default 5 s). */
  busyTimeoutMs?: number;
  /** Delete expired rows every this many registrations (default 1,000). */
  sweepEvery?: number;
  /** Clock for sweeping and `get` (default `Date.now`). */
  now?: () => number;
};

/** A {@link CapabilityStore} in a SQLite file. */
export type SqliteCapabilityStore = CapabilityStore & {
  readonly database: Database.Database;
  /** Closes the database if the store opened it. */
  close(): void;
};

const AMOUNT = /^[0-9]{1,78}$/;
const RowSchema = z.object({
  jti: z.string(),
  calls: z.number().int().nullable(),
  amount: z.string().regex(AMOUNT).nullable(),
  cost_per_call: z.string().regex(AMOUNT).nullable(),
  rate_limit: z.number().nullable(),
  tokens: z.number(),
  refilled_at: z.number(),
  expires_at: z.number().nullable(),
  revoked_until: z.number().nullable(),
});

/**
 * SQLite {@link CapabilityStore} on better-sqlite3 (WAL, busy timeout, as the payment store): capabilities
 * survive a restart and several processes on one machine share them. `consume` reads, decides
 * ({@link consumeCapability}) and writes back inside one IMMEDIATE transaction, so concurrent uses from any
 * number of connections take exactly the calls there are. Amounts are decimal text (no 64-bit limit).
 *
 * @example
 * const store = createSqliteCapabilityStore({ path: './data/x402.sqlite' });
 * const caps = capabilities({ token, store, grants });
 */
export function createSqliteCapabilityStore(parameters: SqliteCapabilityStoreParameters): SqliteCapabilityStore {
  const clock = parameters.now ?? Date.now;
  const sweepEvery = parameters.sweepEvery ?? 1000;
  const { db, owned } = openSqlite(parameters, parameters.busyTimeoutMs);
  const t = tableName(parameters.tablePrefix ?? 'x402_', 'capabilities');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t} (
      jti           TEXT PRIMARY KEY NOT NULL,
      calls         INTEGER,
      amount        TEXT,
      cost_per_call TEXT,
      rate_limit    REAL,
      tokens        REAL NOT NULL DEFAULT 0,
      refilled_at   INTEGER NOT NULL DEFAULT 0,
      expires_at    INTEGER,
      revoked_until INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${t}_expiry ON ${t} (expires_at);
  `);
  const getStmt = db.prepare(`SELECT * FROM ${t} WHERE jti = ?`);
  // A registration keeps an earlier revocation of the same id (a row without a record yet), and never touches a
  // record already there: registering the same capability again must not refill it.
  const registerStmt = db.prepare(`
    INSERT INTO ${t} (jti, calls, amount, cost_per_call, rate_limit, tokens, refilled_at, expires_at, revoked_until)
    VALUES (@jti, @calls, @amount, @costPerCall, @rateLimit, @tokens, @refilledAt, @expiresAt, NULL)
    ON CONFLICT (jti) DO UPDATE SET calls = excluded.calls, amount = excluded.amount, cost_per_call = excluded.cost_per_call,
      rate_limit = excluded.rate_limit, tokens = excluded.tokens, refilled_at = excluded.refilled_at, expires_at = excluded.expires_at
    WHERE ${t}.expires_at IS NULL`);
  const updateStmt = db.prepare(
    `UPDATE ${t} SET calls = @calls, amount = @amount, tokens = @tokens, refilled_at = @refilledAt WHERE jti = @jti`,
  );
  const revokeStmt = db.prepare(`
    INSERT INTO ${t} (jti, revoked_until) VALUES (@jti, @until)
    ON CONFLICT (jti) DO UPDATE SET revoked_until = coalesce(@explicit, ${t}.expires_at, @until)`);
  const sweepStmt = db.prepare(
    `DELETE FROM ${t} WHERE coalesce(expires_at, 0) <= @now AND coalesce(revoked_until, 0) <= @now`,
  );
  let registrations = 0;

  function read(jti: string): { state: CapabilityState | undefined; revokedUntil: number | null } | undefined {
    const raw = getStmt.get(jti);
    if (raw === undefined) return undefined;
    const parsed = RowSchema.safeParse(raw);
    if (!parsed.success)
      throw new StoreCorruptError('sqlite capability', jti, 'the row does not match the table layout', {
        cause: parsed.error,
      });
    const row = parsed.data;
    const state: CapabilityState | undefined =
      row.expires_at === null
        ? undefined
        : {
            jti,
            expiresAt: row.expires_at,
            tokens: row.tokens,
            refilledAt: row.refilled_at,
            ...(row.calls !== null ? { calls: row.calls } : {}),
            ...(row.amount !== null ? { amount: BigInt(row.amount) } : {}),
            ...(row.cost_per_call !== null ? { costPerCall: BigInt(row.cost_per_call) } : {}),
            ...(row.rate_limit !== null ? { rateLimit: row.rate_limit } : {}),
          };
    return { state, revokedUntil: row.revoked_until };
  }

  function write(state: CapabilityState): void {
    updateStmt.run({
      jti: state.jti,
      calls: state.calls ?? null,
      amount: state.amount?.toString() ?? null,
      tokens: state.tokens,
      refilledAt: state.refilledAt,
    });
  }

  const consumeTx = db.transaction((jti: string, now: number, amount: bigint | undefined) => {
    const found = read(jti);
    const revoked = found !== undefined && found.revokedUntil !== null && found.revokedUntil > now;
    const { result, next } = consumeCapability(found?.state, revoked, {
      now,
      ...(amount !== undefined ? { amount } : {}),
    });
    if (next) write(next);
    return result;
  });
  const restoreTx = db.transaction((jti: string, amount: bigint | undefined) => {
    const state = read(jti)?.state;
    if (state) write(restoreCapability(state, { now: 0, ...(amount !== undefined ? { amount } : {}) }));
  });

  return {
    database: db,
    register: (record) =>
      guardStore('sqlite', 'register capability', () => {
        if (++registrations % sweepEvery === 0) sweepStmt.run({ now: clock() });
        const state = initialCapabilityState(record);
        registerStmt.run({
          jti: state.jti,
          calls: state.calls ?? null,
          amount: state.amount?.toString() ?? null,
          costPerCall: state.costPerCall?.toString() ?? null,
          rateLimit: state.rateLimit ?? null,
          tokens: state.tokens,
          refilledAt: state.refilledAt,
          expiresAt: state.expiresAt,
        });
      }),
    consume: (jti, use) =>
      guardStore('sqlite', 'consume capability', () => consumeTx.immediate(jti, use.now, use.amount)),
    restore: (jti, use) => guardStore('sqlite', 'restore capability', () => restoreTx.immediate(jti, use.amount)),
    revoke: (jti, expiresAt) =>
      guardStore('sqlite', 'revoke capability', () => {
        // SQLite integers hold "forever" as the largest safe integer.
        revokeStmt.run({ jti, until: expiresAt ?? Number.MAX_SAFE_INTEGER, explicit: expiresAt ?? null });
      }),
    get: (jti) =>
      guardStore('sqlite', 'get capability', () => {
        const found = read(jti);
        if (found?.state === undefined) return undefined;
        return { ...recordOf(found.state), revoked: found.revokedUntil !== null && found.revokedUntil > clock() };
      }),
    close() {
      if (owned && db.open) db.close();
    },
  };
}
