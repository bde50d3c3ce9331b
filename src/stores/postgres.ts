import { z } from 'zod';
import { ConfigurationError } from '../core/errors';

/**
 * What the Postgres stores run on. Typed by shape, so `pg` and `@electric-sql/pglite` stay the caller's
 * packages (nothing here imports them): pass a `pg` Pool (`new Pool({ connectionString })`) for servers on
 * several machines, or an embedded PGlite (`new PGlite()`) for one process without a server.
 */

/** The part of a query result the stores read. */
export type PgQueryResult = { rows: unknown[] };

/** One connection checked out of a pool (`pg` PoolClient). */
export type PgPoolClient = {
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
  /** Gives the connection back; with an error, the pool destroys it instead. */
  release(error?: Error | boolean): void;
};

/** A `pg` Pool, or anything with the same `connect` and `query`. */
export type PgPool = {
  connect(): Promise<PgPoolClient>;
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
};

/** An embedded PGlite database (one connection, in this process). */
export type PgliteDatabase = {
  query(text: string, params?: unknown[]): Promise<PgQueryResult>;
  transaction<T>(
    callback: (tx: { query(text: string, params?: unknown[]): Promise<PgQueryResult> }) => Promise<T>,
  ): Promise<T>;
};

/**
 * Where a Postgres store keeps its data: a `pg` Pool the caller created (and closes), or an embedded PGlite.
 * PGlite is one connection inside this process: stores on it are shared by this process only, and its
 * transactions run one after another (no row-lock contention to test there).
 */
export type PostgresSource = { pool: PgPool; pglite?: undefined } | { pglite: PgliteDatabase; pool?: undefined };

/** Runs one statement and answers its rows. */
export type PgQuery = (text: string, values?: unknown[]) => Promise<unknown[]>;

/**
 * The stores' one way to talk to Postgres: single statements, and transactions that serialize each decision with
 * {@link lockDecision}. Isolation is READ COMMITTED plus a transaction-scoped advisory lock per decision (a payment
 * id, a capability, a session, a budget, a cap key, the audit chain): every read-decide-write of one thing runs
 * alone, whatever the number of instances, and locks of several things are taken in sorted order (no deadlock).
 * A serialization failure or deadlock (SQLSTATE 40001 / 40P01) is retried a few times.
 */
export type PostgresRunner = {
  readonly kind: 'postgres' | 'pglite';
  query: PgQuery;
  transaction<T>(work: (query: PgQuery) => Promise<T>): Promise<T>;
};

const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * Wraps a {@link PostgresSource} for the stores.
 *
 * @example const db = postgresRunner({ pool: new Pool({ connectionString: process.env.DATABASE_URL }) });
 */
export function postgresRunner(source: PostgresSource): PostgresRunner {
  if (source.pglite) {
    const pglite = source.pglite;
    return {
      kind: 'pglite',
      query: async (text, values) => (await pglite.query(text, values)).rows,
      transaction: (work) =>
        pglite.transaction((tx) => work(async (text, values) => (await tx.query(text, values)).rows)),
    };
  }
  const pool = source.pool;
  if (!pool || typeof pool.connect !== 'function')
    throw new ConfigurationError('Pass a pg Pool as `pool` or a PGlite database as `pglite` to the Postgres store.');
  return {
    kind: 'postgres',
    query: async (text, values) => (await pool.query(text, values)).rows,
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        const query: PgQuery = async (text, values) => (await client.query(text, values)).rows;
        try {
          await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
          const result = await work(query);
          await client.query('COMMIT');
          client.release();
          return result;
        } catch (error) {
          // A connection that failed mid-transaction is destroyed rather than given back in an unknown state.
          const rolledBack = await client.query('ROLLBACK').then(
            () => true,
            () => false,
          );
          client.release(rolledBack ? undefined : true);
          if (!(RETRYABLE.has(sqlState(error) ?? '') && attempt < MAX_ATTEMPTS)) throw error;
        }
      }
    },
  };
}

/**
 * Takes the transaction-scoped advisory lock of each named decision (sorted, so two transactions locking several
 * never deadlock): held until COMMIT or ROLLBACK. Names are hashed to 64 bits; a collision only serializes two
 * unrelated decisions.
 *
 * @example await lockDecision(query, [`x402_payments:${paymentId}`]);
 */
export async function lockDecision(query: PgQuery, names: readonly string[]): Promise<void> {
  for (const name of [...new Set(names)].sort())
    await query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [name]);
}

/** A BIGINT / NUMERIC column read back as a JS number (`pg` answers int8 as text, PGlite as a number or bigint). */
export const PgNumber = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/), z.bigint()])
  .transform((v) => Number(v));

/** A NUMERIC(78,0) amount read back exactly. */
export const PgAmount = z
  .union([z.string().regex(/^-?\d{1,78}$/), z.bigint(), z.number().int()])
  .transform((v) => BigInt(v));
