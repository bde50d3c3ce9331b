import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SignedReceipt } from '../core/receipt/receipt';
import { lockDecision, PgNumber, postgresRunner, type PgQuery, type PostgresSource } from './postgres';
import { migratePostgres, postgresTables, type PostgresTablesParameters } from './postgresSchema';
import {
  SETTLED_LISTING_LIMIT,
  type ClaimResult,
  type PaymentRecord,
  type ReplayAdmission,
  type SettledListingStore,
  type SettledPayment,
} from './paymentStore';
import { guardStore, StoreCorruptError } from './storeErrors';
import { parseStoredReceipt } from './storedReceipt';

/** Options of {@link createPostgresPaymentStore}: the pool (or PGlite), a table prefix, a clock. */
export type PostgresPaymentStoreParameters = PostgresSource &
  PostgresTablesParameters & {
    /** Clock, for tests (default `Date.now`); every instance sharing the database needs roughly the same time. */
    now?: () => number;
  };

/** A {@link PaymentStore} in Postgres, with the migration of its tables. */
export type PostgresPaymentStore = SettledListingStore & {
  /** Creates the tables of every Postgres store under this prefix ({@link migratePostgres}); idempotent. */
  migrate(): Promise<void>;
};

const RowSchema = z.object({
  payment_id: z.string(),
  state: z.enum(['in_flight', 'pending', 'settled', 'failed']),
  request_key: z.string(),
  lease_until: PgNumber.nullable(),
  owner: z.string().nullable(),
  receipt: z.string().nullable(),
  rail: z.string().nullable(),
  reference: z.string().nullable(),
  intent: z.string().nullable(),
  settled_at: PgNumber.nullable(),
  replays: PgNumber,
  reason: z.string().nullable(),
  updated_at: PgNumber,
});
type Row = z.infer<typeof RowSchema>;

/**
 * Postgres {@link PaymentStore} for servers on several machines (a `pg` Pool), or embedded (PGlite). Every
 * transition is one READ COMMITTED transaction that first takes the payment's advisory lock, then reads the row,
 * decides and writes: one claimer wins, a settled record is never overwritten, and the answer is the same as the
 * SQLite and Redis stores give (the shared contract suite proves it). Receipts are stored as JSON text and parsed
 * back with the receipt schema; a corrupt row is a {@link StoreCorruptError}, a database that cannot be reached a
 * StoreUnavailableError (503). Run {@link migratePostgres} (or `store.migrate()`) before first use.
 *
 * @example
 * import { Pool } from 'pg';
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL });
 * const store = createPostgresPaymentStore({ pool });
 * await store.migrate();
 * const app = paywall({ routes, rails, store });
 */
export function createPostgresPaymentStore(parameters: PostgresPaymentStoreParameters): PostgresPaymentStore {
  const db = postgresRunner(parameters);
  const now = parameters.now ?? Date.now;
  const t = postgresTables(parameters.tablePrefix).payments;
  const kind = db.kind;

  async function read(query: PgQuery, paymentId: string): Promise<Row | undefined> {
    const [raw] = await query(`SELECT * FROM ${t} WHERE payment_id = $1`, [paymentId]);
    if (raw === undefined) return undefined;
    const parsed = RowSchema.safeParse(raw);
    if (!parsed.success)
      throw new StoreCorruptError(kind, paymentId, 'the row does not match the table layout', { cause: parsed.error });
    return parsed.data;
  }

  /** One decision on one payment: its lock, its row, the work. */
  const decide = <T>(
    operation: string,
    paymentId: string,
    work: (query: PgQuery, row: Row | undefined) => Promise<T>,
  ) =>
    guardStore(kind, operation, () =>
      db.transaction(async (query) => {
        await lockDecision(query, [`${t}:${paymentId}`]);
        return work(query, await read(query, paymentId));
      }),
    );

  return {
    migrate: () => migratePostgres(parameters, parameters),
    claim: (paymentId, requestKey, leaseMs) =>
      decide('claim', paymentId, async (query, row): Promise<ClaimResult> => {
        const at = now();
        const owner = randomUUID();
        if (row === undefined) {
          await query(
            `INSERT INTO ${t} (payment_id, state, request_key, lease_until, owner, updated_at) VALUES ($1, 'in_flight', $2, $3, $4, $5)`,
            [paymentId, requestKey, at + leaseMs, owner, at],
          );
          return { claimed: true, owner };
        }
        if (row.state !== 'in_flight' || row.lease_until === null || row.lease_until > at)
          return { claimed: false, record: toRecord(kind, paymentId, row) };
        await query(
          `UPDATE ${t} SET request_key = $2, lease_until = $3, owner = $4, receipt = NULL, rail = NULL, reference = NULL, updated_at = $5 WHERE payment_id = $1`,
          [paymentId, requestKey, at + leaseMs, owner, at],
        );
        return { claimed: true, owner, takeover: true, takenFrom: row.request_key };
      }),
    renew: (paymentId, owner, leaseMs) =>
      decide('renew', paymentId, async (query, row) => {
        if (row?.state !== 'in_flight' || row.owner !== owner) return false;
        const at = now();
        await query(`UPDATE ${t} SET lease_until = $2, updated_at = $3 WHERE payment_id = $1`, [
          paymentId,
          at + leaseMs,
          at,
        ]);
        return true;
      }),
    settle: (paymentId, receipt) =>
      decide('settle', paymentId, async (query, row): Promise<SignedReceipt> => {
        // Settled is terminal: the first receipt stays (a receipt once served never changes).
        if (row?.state === 'settled') return parseStoredReceipt(kind, paymentId, row.receipt);
        const at = now();
        await query(
          `INSERT INTO ${t} (payment_id, state, request_key, receipt, rail, reference, settled_at, replays, updated_at)
           VALUES ($1, 'settled', '', $2, $3, $4, $5, 0, $5)
           ON CONFLICT (payment_id) DO UPDATE SET state = 'settled', lease_until = NULL, owner = NULL, intent = NULL, reason = NULL,
             receipt = excluded.receipt, rail = excluded.rail, reference = excluded.reference, settled_at = excluded.settled_at,
             replays = 0, updated_at = excluded.updated_at`,
          [paymentId, JSON.stringify(receipt), receipt.rail, receipt.reference, at],
        );
        return receipt;
      }),
    markPending: (paymentId, rail, reference, intent) =>
      decide('markPending', paymentId, async (query, row) => {
        if (row?.state === 'settled') return;
        await query(
          `INSERT INTO ${t} (payment_id, state, request_key, rail, reference, intent, updated_at) VALUES ($1, 'pending', '', $2, $3, $4, $5)
           ON CONFLICT (payment_id) DO UPDATE SET state = 'pending', lease_until = NULL, owner = NULL, rail = excluded.rail,
             reference = excluded.reference, intent = COALESCE(excluded.intent, ${t}.intent), updated_at = excluded.updated_at`,
          [paymentId, rail, reference, intent ?? null, now()],
        );
      }),
    fail: (paymentId, reason) =>
      decide('fail', paymentId, async (query, row) => {
        if (row?.state === 'settled') return;
        await query(
          `INSERT INTO ${t} (payment_id, state, request_key, reason, updated_at) VALUES ($1, 'failed', '', $2, $3)
           ON CONFLICT (payment_id) DO UPDATE SET state = 'failed', lease_until = NULL, owner = NULL, intent = NULL, reason = excluded.reason,
             updated_at = excluded.updated_at`,
          [paymentId, reason, now()],
        );
      }),
    release: (paymentId, state = 'in_flight', owner) =>
      decide('release', paymentId, async (query, row) => {
        if (row?.state !== state) return;
        if (state === 'in_flight' && owner !== undefined && row.owner !== owner) return;
        await query(`DELETE FROM ${t} WHERE payment_id = $1`, [paymentId]);
      }),
    expireClaim: (paymentId, owner, requestKey) =>
      decide('expireClaim', paymentId, async (query, row) => {
        if (row?.state !== 'in_flight' || (owner !== undefined && row.owner !== owner)) return;
        await query(`UPDATE ${t} SET lease_until = 0, request_key = COALESCE($2, request_key) WHERE payment_id = $1`, [
          paymentId,
          requestKey ?? null,
        ]);
      }),
    replay: (paymentId, requestKey, policy) =>
      decide('replay', paymentId, async (query, row): Promise<ReplayAdmission> => {
        if (row?.state !== 'settled' || row.request_key !== requestKey)
          return { admitted: false, reason: 'not_replayable' };
        if ((row.settled_at ?? row.updated_at) + policy.windowMs < now())
          return { admitted: false, reason: 'replay_window_closed' };
        if (row.replays >= policy.max) return { admitted: false, reason: 'replay_limit_reached' };
        await query(`UPDATE ${t} SET replays = replays + 1 WHERE payment_id = $1`, [paymentId]);
        return { admitted: true };
      }),
    get: (paymentId) =>
      guardStore(kind, 'get', async () => {
        const row = await read(db.query, paymentId);
        return row === undefined ? undefined : toRecord(kind, paymentId, row);
      }),
    listSettled: (query = {}) =>
      guardStore(kind, 'listSettled', async () => {
        const out: SettledPayment[] = [];
        const rows = await db.query(
          `SELECT * FROM ${t} WHERE state = 'settled' AND COALESCE(settled_at, updated_at) >= $1 AND COALESCE(settled_at, updated_at) < $2 ORDER BY COALESCE(settled_at, updated_at) DESC, payment_id LIMIT $3`,
          [
            query.since ?? 0,
            query.until ?? Number.MAX_SAFE_INTEGER,
            Math.min(query.limit ?? SETTLED_LISTING_LIMIT, SETTLED_LISTING_LIMIT),
          ],
        );
        for (const raw of rows) {
          const parsed = RowSchema.safeParse(raw);
          if (!parsed.success)
            throw new StoreCorruptError(kind, '(unknown)', 'a settled row does not match the table layout', {
              cause: parsed.error,
            });
          const record = toRecord(kind, parsed.data.payment_id, parsed.data);
          if (record.state === 'settled') out.push({ paymentId: parsed.data.payment_id, record });
        }
        return out;
      }),
    listPending: () =>
      guardStore(kind, 'listPending', async () => {
        const out: Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }> = [];
        for (const raw of await db.query(
          `SELECT * FROM ${t} WHERE state = 'pending' ORDER BY updated_at, payment_id`,
        )) {
          const parsed = RowSchema.safeParse(raw);
          if (!parsed.success)
            throw new StoreCorruptError(kind, '(unknown)', 'a pending row does not match the table layout', {
              cause: parsed.error,
            });
          const record = toRecord(kind, parsed.data.payment_id, parsed.data);
          if (record.state === 'pending') out.push({ paymentId: parsed.data.payment_id, record });
        }
        return out;
      }),
  };
}

/** Turns one row into a record; anything unexpected is a {@link StoreCorruptError}. */
function toRecord(kind: string, paymentId: string, row: Row): PaymentRecord {
  switch (row.state) {
    case 'in_flight':
      if (row.lease_until === null) throw new StoreCorruptError(kind, paymentId, 'an in-flight claim has no lease');
      return { state: 'in_flight', requestKey: row.request_key, leaseUntil: row.lease_until };
    case 'pending':
      if (row.rail === null || row.reference === null)
        throw new StoreCorruptError(kind, paymentId, 'a pending payment has no rail or reference');
      return {
        state: 'pending',
        requestKey: row.request_key,
        rail: row.rail,
        reference: row.reference,
        updatedAt: row.updated_at,
        ...(row.intent !== null ? { intent: row.intent } : {}),
      };
    case 'settled':
      return {
        state: 'settled',
        requestKey: row.request_key,
        receipt: parseStoredReceipt(kind, paymentId, row.receipt),
        settledAt: row.settled_at ?? row.updated_at,
        replays: row.replays,
      };
    case 'failed':
      return { state: 'failed', requestKey: row.request_key, reason: row.reason ?? '', failedAt: row.updated_at };
  }
}
