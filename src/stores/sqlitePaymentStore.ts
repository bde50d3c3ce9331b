import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { openSqlite, tableName, type SqliteSource } from './openSqlite';
import type { SignedReceipt } from '../core/receipt/receipt';
import {
  SETTLED_LISTING_LIMIT,
  type ClaimResult,
  type PaymentRecord,
  type ReplayAdmission,
  type ReplayPolicy,
  type SettledListingStore,
  type SettledPayment,
  type SettledQuery,
} from './paymentStore';
import { guardStore, StoreCorruptError } from './storeErrors';
import { parseStoredReceipt } from './storedReceipt';

/** Options of {@link createSqlitePaymentStore}: a file `path` (created if missing) or an open `database`. */
export type SqlitePaymentStoreParameters = SqliteSource & {
  /** Prefix of the table name, to share one file between several stores (default `x402_`). */
  tablePrefix?: string;
  /** How long a write waits for another connection's lock before failing with StoreUnavailableError (default 5 s). */
  busyTimeoutMs?: number;
  /** Clock, for tests (default `Date.now`). */
  now?: () => number;
};

/** A {@link PaymentStore} in a SQLite file. */
export type SqlitePaymentStore = SettledListingStore & {
  /** The database in use. */
  readonly database: Database.Database;
  /** Closes the database if the store opened it (a `database` passed in is left open). */
  close(): void;
};

const RowSchema = z.object({
  payment_id: z.string(),
  state: z.enum(['in_flight', 'pending', 'settled', 'failed']),
  request_key: z.string(),
  lease_until: z.number().nullable(),
  receipt: z.string().nullable(),
  rail: z.string().nullable(),
  reference: z.string().nullable(),
  intent: z.string().nullable().optional(),
  owner: z.string().nullable().optional(),
  settled_at: z.number().nullable().optional(),
  replays: z.number().nullable().optional(),
  reason: z.string().nullable().optional(),
  updated_at: z.number(),
});

const IdSchema = RowSchema.pick({ payment_id: true });
const ExistingKeySchema = RowSchema.pick({ request_key: true });

/**
 * SQLite {@link PaymentStore} on better-sqlite3: the embedded default that survives restarts, and is safe to
 * share between several processes on one machine (WAL, busy timeout). A claim is one
 * `INSERT … ON CONFLICT DO UPDATE … WHERE state = 'in_flight' AND lease_until <= now RETURNING` inside an
 * IMMEDIATE transaction, so exactly one claimer wins, across connections and processes. Receipts are stored
 * as JSON and parsed back with the receipt schema; a corrupt row is a {@link StoreCorruptError}.
 *
 * @example
 * const store = createSqlitePaymentStore({ path: './data/x402.sqlite' });
 * const app = paywall({ routes, rails, store });
 * process.on('SIGTERM', () => store.close());
 */
export function createSqlitePaymentStore(parameters: SqlitePaymentStoreParameters): SqlitePaymentStore {
  const now = parameters.now ?? Date.now;
  const { db, owned } = openSqlite(parameters, parameters.busyTimeoutMs);
  const t = tableName(parameters.tablePrefix ?? 'x402_', 'payments');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t} (
      payment_id  TEXT PRIMARY KEY NOT NULL,
      state       TEXT NOT NULL,
      request_key TEXT NOT NULL,
      lease_until INTEGER,
      receipt     TEXT,
      rail        TEXT,
      reference   TEXT,
      intent      TEXT,
      updated_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${t}_pending ON ${t} (updated_at) WHERE state = 'pending';
  `);
  // Files written by earlier versions lack the later columns (settlement intent, claim owner, replay count, failure).
  for (const [column, type] of [
    ['intent', 'TEXT'],
    ['owner', 'TEXT'],
    ['settled_at', 'INTEGER'],
    ['replays', 'INTEGER NOT NULL DEFAULT 0'],
    ['reason', 'TEXT'],
  ] as const) {
    if (!db.prepare(`SELECT 1 FROM pragma_table_info('${t}') WHERE name = ?`).get(column))
      db.exec(`ALTER TABLE ${t} ADD COLUMN ${column} ${type}`);
  }

  const claimStmt = db.prepare(`
    INSERT INTO ${t} (payment_id, state, request_key, lease_until, receipt, rail, reference, owner, updated_at)
    VALUES (@id, 'in_flight', @requestKey, @leaseUntil, NULL, NULL, NULL, @owner, @now)
    ON CONFLICT (payment_id) DO UPDATE SET
      state = 'in_flight', request_key = excluded.request_key, lease_until = excluded.lease_until,
      receipt = NULL, rail = NULL, reference = NULL, owner = excluded.owner, updated_at = excluded.updated_at
    WHERE ${t}.state = 'in_flight' AND ${t}.lease_until <= @now
    RETURNING payment_id`);
  const getStmt = db.prepare(`SELECT * FROM ${t} WHERE payment_id = ?`);
  const existingKeyStmt = db.prepare(`SELECT request_key FROM ${t} WHERE payment_id = ?`);
  // Settled is terminal: the first receipt stays (a receipt once served never changes).
  const settleStmt = db.prepare(`
    INSERT INTO ${t} (payment_id, state, request_key, lease_until, receipt, rail, reference, settled_at, replays, updated_at)
    VALUES (@id, 'settled', '', NULL, @receipt, @rail, @reference, @now, 0, @now)
    ON CONFLICT (payment_id) DO UPDATE SET
      state = 'settled', lease_until = NULL, receipt = excluded.receipt, rail = excluded.rail,
      reference = excluded.reference, owner = NULL, intent = NULL, reason = NULL, settled_at = excluded.settled_at,
      replays = 0, updated_at = excluded.updated_at
    WHERE ${t}.state <> 'settled'`);
  // Failed is terminal too (unless the payment is found settled after all).
  const failStmt = db.prepare(`
    INSERT INTO ${t} (payment_id, state, request_key, lease_until, receipt, rail, reference, reason, updated_at)
    VALUES (@id, 'failed', '', NULL, NULL, NULL, NULL, @reason, @now)
    ON CONFLICT (payment_id) DO UPDATE SET
      state = 'failed', lease_until = NULL, owner = NULL, intent = NULL, reason = excluded.reason, updated_at = excluded.updated_at
    WHERE ${t}.state <> 'settled'`);
  const renewStmt = db.prepare(
    `UPDATE ${t} SET lease_until = @leaseUntil, updated_at = @now WHERE payment_id = @id AND state = 'in_flight' AND owner = @owner`,
  );
  const replayStmt = db.prepare(`
    UPDATE ${t} SET replays = replays + 1
    WHERE payment_id = @id AND state = 'settled' AND request_key = @requestKey
      AND COALESCE(settled_at, updated_at) + @windowMs >= @now AND replays < @max`);
  const pendingStmt = db.prepare(`
    INSERT INTO ${t} (payment_id, state, request_key, lease_until, receipt, rail, reference, intent, updated_at)
    VALUES (@id, 'pending', '', NULL, NULL, @rail, @reference, @intent, @now)
    ON CONFLICT (payment_id) DO UPDATE SET
      state = 'pending', lease_until = NULL, owner = NULL, rail = excluded.rail, reference = excluded.reference,
      intent = COALESCE(excluded.intent, ${t}.intent), updated_at = excluded.updated_at
    WHERE ${t}.state <> 'settled'`);
  const releaseStmt = db.prepare(
    `DELETE FROM ${t} WHERE payment_id = @id AND state = @state AND (@owner IS NULL OR state <> 'in_flight' OR owner = @owner)`,
  );
  const expireStmt = db.prepare(
    `UPDATE ${t} SET lease_until = 0, request_key = COALESCE(@requestKey, request_key) WHERE payment_id = @id AND state = 'in_flight' AND (@owner IS NULL OR owner = @owner)`,
  );
  const listPendingStmt = db.prepare(`SELECT * FROM ${t} WHERE state = 'pending' ORDER BY updated_at`);
  const listSettledStmt = db.prepare(
    `SELECT * FROM ${t} WHERE state = 'settled' AND COALESCE(settled_at, updated_at) >= @since AND COALESCE(settled_at, updated_at) < @until ORDER BY COALESCE(settled_at, updated_at) DESC, payment_id LIMIT @limit`,
  );

  const claimTx = db.transaction((id: string, requestKey: string, leaseMs: number): ClaimResult => {
    const at = now();
    const existing = ExistingKeySchema.safeParse(existingKeyStmt.get(id));
    const owner = randomUUID();
    if (claimStmt.get({ id, requestKey, leaseUntil: at + leaseMs, owner, now: at }) !== undefined) {
      return existing.success
        ? { claimed: true, owner, takeover: true, takenFrom: existing.data.request_key }
        : { claimed: true, owner };
    }
    const record = read(id);
    // Cannot be missing: the row that blocked the insert is still there inside this write transaction.
    if (record === undefined)
      throw new StoreCorruptError('sqlite', id, 'the claim conflicted with a row that does not exist');
    return { claimed: false, record };
  });

  const settleTx = db.transaction((id: string, receipt: SignedReceipt): SignedReceipt => {
    settleStmt.run({
      id,
      receipt: JSON.stringify(receipt),
      rail: receipt.rail,
      reference: receipt.reference,
      now: now(),
    });
    const stored = read(id);
    if (stored?.state !== 'settled')
      throw new StoreCorruptError('sqlite', id, 'the payment is not settled right after settling it');
    return stored.receipt;
  });

  const replayTx = db.transaction((id: string, requestKey: string, policy: ReplayPolicy): ReplayAdmission => {
    const at = now();
    if (replayStmt.run({ id, requestKey, windowMs: policy.windowMs, max: policy.max, now: at }).changes === 1)
      return { admitted: true };
    const current = read(id);
    if (current?.state !== 'settled' || current.requestKey !== requestKey)
      return { admitted: false, reason: 'not_replayable' };
    return {
      admitted: false,
      reason: at > current.settledAt + policy.windowMs ? 'replay_window_closed' : 'replay_limit_reached',
    };
  });

  function read(id: string): PaymentRecord | undefined {
    const raw = getStmt.get(id);
    return raw === undefined ? undefined : toRecord(id, raw);
  }

  return {
    database: db,
    claim: (paymentId, requestKey, leaseMs) =>
      guardStore('sqlite', 'claim', () => claimTx.immediate(paymentId, requestKey, leaseMs)),
    renew: (paymentId, owner, leaseMs) =>
      guardStore('sqlite', 'renew', () => {
        const at = now();
        return renewStmt.run({ id: paymentId, owner, leaseUntil: at + leaseMs, now: at }).changes === 1;
      }),
    settle: (paymentId, receipt) => guardStore('sqlite', 'settle', () => settleTx.immediate(paymentId, receipt)),
    fail: (paymentId, reason) =>
      guardStore('sqlite', 'fail', () => {
        failStmt.run({ id: paymentId, reason, now: now() });
      }),
    replay: (paymentId, requestKey, policy) =>
      guardStore('sqlite', 'replay', () => replayTx.immediate(paymentId, requestKey, policy)),
    markPending: (paymentId, rail, reference, intent) =>
      guardStore('sqlite', 'markPending', () => {
        pendingStmt.run({ id: paymentId, rail, reference, intent: intent ?? null, now: now() });
      }),
    release: (paymentId, state = 'in_flight', owner) =>
      guardStore('sqlite', 'release', () => {
        releaseStmt.run({ id: paymentId, state, owner: owner ?? null });
      }),
    expireClaim: (paymentId, owner, requestKey) =>
      guardStore('sqlite', 'expireClaim', () => {
        expireStmt.run({ id: paymentId, owner: owner ?? null, requestKey: requestKey ?? null });
      }),
    get: (paymentId) => guardStore('sqlite', 'get', () => read(paymentId)),
    listPending: () => guardStore('sqlite', 'listPending', listPending),
    listSettled: (query?: SettledQuery) => guardStore('sqlite', 'listSettled', () => listSettled(query ?? {})),
    close() {
      if (owned && db.open) db.close();
    },
  };

  function listSettled(query: SettledQuery): SettledPayment[] {
    const out: SettledPayment[] = [];
    const rows = listSettledStmt.all({
      since: query.since ?? 0,
      until: query.until ?? Number.MAX_SAFE_INTEGER,
      limit: Math.min(query.limit ?? SETTLED_LISTING_LIMIT, SETTLED_LISTING_LIMIT),
    });
    for (const raw of rows) {
      const id = IdSchema.safeParse(raw);
      const paymentId = id.success ? id.data.payment_id : '(unknown)';
      const record = toRecord(paymentId, raw);
      if (record.state === 'settled') out.push({ paymentId, record });
    }
    return out;
  }

  function listPending(): Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }> {
    const out: Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }> = [];
    for (const raw of listPendingStmt.all()) {
      const id = IdSchema.safeParse(raw);
      const paymentId = id.success ? id.data.payment_id : '(unknown)';
      const record = toRecord(paymentId, raw);
      if (record.state === 'pending') out.push({ paymentId, record });
    }
    return out;
  }
}

/** Parses one row into a record; anything unexpected is a {@link StoreCorruptError}. */
function toRecord(paymentId: string, raw: unknown): PaymentRecord {
  const parsed = RowSchema.safeParse(raw);
  if (!parsed.success)
    throw new StoreCorruptError('sqlite', paymentId, 'the row does not match the table layout', {
      cause: parsed.error,
    });
  const row = parsed.data;
  switch (row.state) {
    case 'in_flight':
      if (row.lease_until === null) throw new StoreCorruptError('sqlite', paymentId, 'an in-flight claim has no lease');
      return { state: 'in_flight', requestKey: row.request_key, leaseUntil: row.lease_until };
    case 'pending':
      if (row.rail === null || row.reference === null)
        throw new StoreCorruptError('sqlite', paymentId, 'a pending payment has no rail or reference');
      return {
        state: 'pending',
        requestKey: row.request_key,
        rail: row.rail,
        reference: row.reference,
        updatedAt: row.updated_at,
        ...(typeof row.intent === 'string' ? { intent: row.intent } : {}),
      };
    case 'settled':
      return {
        state: 'settled',
        requestKey: row.request_key,
        receipt: parseStoredReceipt('sqlite', paymentId, row.receipt),
        settledAt: row.settled_at ?? row.updated_at,
        replays: row.replays ?? 0,
      };
    case 'failed':
      return { state: 'failed', requestKey: row.request_key, reason: row.reason ?? '', failedAt: row.updated_at };
  }
}
