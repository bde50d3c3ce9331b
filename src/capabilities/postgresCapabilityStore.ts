import { z } from 'zod';
import {
  lockDecision,
  PgAmount,
  PgNumber,
  postgresRunner,
  type PgQuery,
  type PostgresSource,
} from '../stores/postgres';
import { migratePostgres, postgresTables, type PostgresTablesParameters } from '../stores/postgresSchema';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import type { CapabilityStore } from './capabilityStore';
import {
  consumeCapability,
  initialCapabilityState,
  recordOf,
  restoreCapability,
  type CapabilityState,
} from './consumeCapability';

/** Options of {@link createPostgresCapabilityStore}: the pool (or PGlite), a table prefix, sweeping, a clock. */
export type PostgresCapabilityStoreParameters = PostgresSource &
  PostgresTablesParameters & {
    /** Delete expired rows every this many registrations (default 1,000). */
    sweepEvery?: number;
    /** Clock for sweeping and `get` (default `Date.now`). */
    now?: () => number;
  };

/** A {@link CapabilityStore} in Postgres, with the migration of its tables. */
export type PostgresCapabilityStore = CapabilityStore & {
  /** Creates the tables of every Postgres store under this prefix; idempotent. */
  migrate(): Promise<void>;
};

const RowSchema = z.object({
  jti: z.string(),
  calls: PgNumber.nullable(),
  amount: PgAmount.nullable(),
  cost_per_call: PgAmount.nullable(),
  rate_limit: PgNumber.nullable(),
  tokens: PgNumber,
  refilled_at: PgNumber,
  expires_at: PgNumber.nullable(),
  revoked_until: PgNumber.nullable(),
});

/**
 * Postgres {@link CapabilityStore}: capabilities shared by every instance on one database. `consume` and `restore`
 * take the capability's advisory lock, read, decide with the same rule as every store ({@link consumeCapability})
 * and write back in one READ COMMITTED transaction, so concurrent uses from any number of instances take exactly
 * the calls there are. Amounts are NUMERIC(78,0) (no 64-bit limit).
 *
 * @example
 * const store = createPostgresCapabilityStore({ pool });
 * await store.migrate();
 * const caps = capabilities({ token, store, grants });
 */
export function createPostgresCapabilityStore(parameters: PostgresCapabilityStoreParameters): PostgresCapabilityStore {
  const db = postgresRunner(parameters);
  const clock = parameters.now ?? Date.now;
  const sweepEvery = parameters.sweepEvery ?? 1000;
  const t = postgresTables(parameters.tablePrefix).capabilities;
  const store = `${db.kind} capability`;
  let registrations = 0;

  async function read(
    query: PgQuery,
    jti: string,
  ): Promise<{ state: CapabilityState | undefined; revokedUntil: number | null } | undefined> {
    const [raw] = await query(
      `SELECT jti, calls, amount::text, cost_per_call::text, rate_limit, tokens, refilled_at, expires_at, revoked_until FROM ${t} WHERE jti = $1`,
      [jti],
    );
    if (raw === undefined) return undefined;
    const parsed = RowSchema.safeParse(raw);
    if (!parsed.success)
      throw new StoreCorruptError(store, jti, 'the row does not match the table layout', { cause: parsed.error });
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
            ...(row.amount !== null ? { amount: row.amount } : {}),
            ...(row.cost_per_call !== null ? { costPerCall: row.cost_per_call } : {}),
            ...(row.rate_limit !== null ? { rateLimit: row.rate_limit } : {}),
          };
    return { state, revokedUntil: row.revoked_until };
  }

  const write = (query: PgQuery, state: CapabilityState) =>
    query(`UPDATE ${t} SET calls = $2, amount = $3, tokens = $4, refilled_at = $5 WHERE jti = $1`, [
      state.jti,
      state.calls ?? null,
      state.amount?.toString() ?? null,
      state.tokens,
      state.refilledAt,
    ]);

  const locked = <T>(operation: string, jti: string, work: (query: PgQuery) => Promise<T>) =>
    guardStore(db.kind, operation, () =>
      db.transaction(async (query) => {
        await lockDecision(query, [`${t}:${jti}`]);
        return work(query);
      }),
    );

  return {
    migrate: () => migratePostgres(parameters, parameters),
    register: (record) =>
      guardStore(db.kind, 'register capability', async () => {
        if (++registrations % sweepEvery === 0)
          await db.query(`DELETE FROM ${t} WHERE coalesce(expires_at, 0) <= $1 AND coalesce(revoked_until, 0) <= $1`, [
            clock(),
          ]);
        const state = initialCapabilityState(record);
        // Keeps an earlier revocation of the id (a row without a record yet) and never refills a record already there.
        await db.query(
          `INSERT INTO ${t} (jti, calls, amount, cost_per_call, rate_limit, tokens, refilled_at, expires_at, revoked_until)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
           ON CONFLICT (jti) DO UPDATE SET calls = excluded.calls, amount = excluded.amount, cost_per_call = excluded.cost_per_call,
             rate_limit = excluded.rate_limit, tokens = excluded.tokens, refilled_at = excluded.refilled_at, expires_at = excluded.expires_at
           WHERE ${t}.expires_at IS NULL`,
          [
            state.jti,
            state.calls ?? null,
            state.amount?.toString() ?? null,
            state.costPerCall?.toString() ?? null,
            state.rateLimit ?? null,
            state.tokens,
            state.refilledAt,
            state.expiresAt,
          ],
        );
      }),
    consume: (jti, use) =>
      locked('consume capability', jti, async (query) => {
        const found = await read(query, jti);
        const revoked = found !== undefined && found.revokedUntil !== null && found.revokedUntil > use.now;
        const { result, next } = consumeCapability(found?.state, revoked, use);
        if (next) await write(query, next);
        return result;
      }),
    restore: (jti, use) =>
      locked('restore capability', jti, async (query) => {
        const state = (await read(query, jti))?.state;
        if (state)
          await write(
            query,
            restoreCapability(state, { now: 0, ...(use.amount !== undefined ? { amount: use.amount } : {}) }),
          );
      }),
    revoke: (jti, expiresAt) =>
      guardStore(db.kind, 'revoke capability', async () => {
        await db.query(
          `INSERT INTO ${t} (jti, revoked_until) VALUES ($1, $2)
           ON CONFLICT (jti) DO UPDATE SET revoked_until = coalesce($3::bigint, ${t}.expires_at, $2::bigint)`,
          [jti, expiresAt ?? Number.MAX_SAFE_INTEGER, expiresAt ?? null],
        );
      }),
    get: (jti) =>
      guardStore(db.kind, 'get capability', async () => {
        const found = await read(db.query, jti);
        if (found?.state === undefined) return undefined;
        return { ...recordOf(found.state), revoked: found.revokedUntil !== null && found.revokedUntil > clock() };
      }),
  };
}
