import { ConfigurationError } from '../core/errors';
import { postgresRunner, type PostgresSource } from './postgres';

/** Options of {@link migratePostgres} and of every Postgres store. */
export type PostgresTablesParameters = {
  /** Prefix of every table name (default `x402_`): letters, digits and `_`. Several deployments can share a database. */
  tablePrefix?: string;
};

/** The default table prefix of the Postgres stores. */
export const POSTGRES_TABLE_PREFIX = 'x402_';

/** The names of the Postgres stores' tables under one prefix. */
export type PostgresTables = {
  payments: string;
  budgetEntries: string;
  capabilities: string;
  metering: string;
  capTotals: string;
  capReservations: string;
  audit: string;
};

/**
 * The table names under `prefix`, checked before they go into SQL (letters, digits and `_`, starting with a letter
 * or `_`, at most 63 bytes as Postgres allows).
 *
 * @example postgresTables('shop_').payments // 'shop_payments'
 */
export function postgresTables(prefix = POSTGRES_TABLE_PREFIX): PostgresTables {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(prefix)) {
    throw new ConfigurationError(
      `Table prefix ${JSON.stringify(prefix)} is not allowed: use letters, digits and "_" only (at most 41).`,
    );
  }
  const p = prefix.toLowerCase();
  return {
    payments: `${p}payments`,
    budgetEntries: `${p}budget_entries`,
    capabilities: `${p}capabilities`,
    metering: `${p}metering`,
    capTotals: `${p}cap_totals`,
    capReservations: `${p}cap_reservations`,
    audit: `${p}audit`,
  };
}

/** The schema, one statement each; every one may run again (IF NOT EXISTS / OR REPLACE). */
function schema(t: PostgresTables): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.payments} (
      payment_id  TEXT PRIMARY KEY,
      state       TEXT NOT NULL,
      request_key TEXT NOT NULL,
      lease_until BIGINT,
      owner       TEXT,
      receipt     TEXT,
      rail        TEXT,
      reference   TEXT,
      intent      TEXT,
      settled_at  BIGINT,
      replays     INTEGER NOT NULL DEFAULT 0,
      reason      TEXT,
      updated_at  BIGINT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.payments}_pending ON ${t.payments} (updated_at) WHERE state = 'pending'`,
    `CREATE TABLE IF NOT EXISTS ${t.budgetEntries} (
      id               BIGSERIAL PRIMARY KEY,
      origin           TEXT NOT NULL,
      network          TEXT NOT NULL,
      asset            TEXT NOT NULL,
      asset_lc         TEXT NOT NULL,
      network_asset_lc TEXT NOT NULL,
      amount           NUMERIC(78, 0) NOT NULL,
      at               BIGINT NOT NULL,
      state            TEXT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.budgetEntries}_asset ON ${t.budgetEntries} (asset_lc, at)`,
    `CREATE INDEX IF NOT EXISTS ${t.budgetEntries}_network_asset ON ${t.budgetEntries} (network_asset_lc, at)`,
    `CREATE TABLE IF NOT EXISTS ${t.capabilities} (
      jti           TEXT PRIMARY KEY,
      calls         INTEGER,
      amount        NUMERIC(78, 0),
      cost_per_call NUMERIC(78, 0),
      rate_limit    DOUBLE PRECISION,
      tokens        DOUBLE PRECISION NOT NULL DEFAULT 0,
      refilled_at   BIGINT NOT NULL DEFAULT 0,
      expires_at    BIGINT,
      revoked_until BIGINT
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.capabilities}_expiry ON ${t.capabilities} (expires_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.metering} (
      id         TEXT PRIMARY KEY,
      session    TEXT NOT NULL,
      due_at     BIGINT
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.metering}_due ON ${t.metering} (due_at) WHERE due_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${t.capTotals} (key TEXT PRIMARY KEY, amount NUMERIC(78, 0) NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.capReservations} (id TEXT NOT NULL, key TEXT NOT NULL, amount NUMERIC(78, 0) NOT NULL, PRIMARY KEY (id, key))`,
    `CREATE TABLE IF NOT EXISTS ${t.audit} (
      seq        BIGINT PRIMARY KEY,
      at         BIGINT NOT NULL,
      kind       TEXT NOT NULL,
      payment_id TEXT,
      body       TEXT NOT NULL,
      prev_hash  TEXT NOT NULL,
      hash       TEXT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.audit}_payment ON ${t.audit} (payment_id) WHERE payment_id IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ${t.audit}_at ON ${t.audit} (at)`,
    `CREATE OR REPLACE FUNCTION ${t.audit}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$`,
    `DROP TRIGGER IF EXISTS ${t.audit}_append_only ON ${t.audit}`,
    `CREATE TRIGGER ${t.audit}_append_only BEFORE UPDATE ON ${t.audit} FOR EACH ROW EXECUTE FUNCTION ${t.audit}_append_only()`,
  ];
}

/**
 * Creates (or completes) the tables of every Postgres store under one prefix: payments, client budget entries,
 * capabilities, metering sessions, cap totals and reservations, the audit log. Idempotent: run it at deploy time,
 * from a migration job, or once at start-up; the stores themselves never change the schema. The statements run in
 * one transaction under an advisory lock, so instances migrating at once do not collide.
 *
 * @example
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL });
 * await migratePostgres({ pool }, { tablePrefix: 'shop_' });
 */
export async function migratePostgres(
  source: PostgresSource,
  parameters: PostgresTablesParameters = {},
): Promise<void> {
  const tables = postgresTables(parameters.tablePrefix);
  await postgresRunner(source).transaction(async (query) => {
    await query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${tables.payments}:migrate`]);
    for (const statement of schema(tables)) await query(statement);
  });
}
