/**
 * x402-rails/stores: durable payment stores (SQLite, Redis, Postgres), the shared client budget ledgers, and the
 * Postgres migration.
 * Kept out of the core entry so better-sqlite3 loads only when asked for; the Redis store only takes an
 * ioredis client you create, so ioredis stays an optional peer.
 */
export * from './paymentStore';
export * from './memoryPaymentStore';
export {
  createSqlitePaymentStore,
  type SqlitePaymentStore,
  type SqlitePaymentStoreParameters,
} from './sqlitePaymentStore';
export { createRedisPaymentStore, type RedisPaymentStoreParameters } from './redisPaymentStore';
export { createRedisBudgetLedger, type RedisBudgetLedgerParameters } from './redisBudgetLedger';
export type { RedisClient } from './redisScript';
export type { RedisReplicationParameters } from './redisReplication';
export {
  createSqliteBudgetLedger,
  type SqliteBudgetLedger,
  type SqliteBudgetLedgerOptions,
} from './sqliteBudgetLedger';
export { defaultPaymentStore, type DefaultPaymentStoreParameters } from './defaultPaymentStore';
export { StoreCorruptError, StoreUnavailableError } from './storeErrors';
export {
  createPostgresPaymentStore,
  type PostgresPaymentStore,
  type PostgresPaymentStoreParameters,
} from './postgresPaymentStore';
export { createPostgresBudgetLedger, type PostgresBudgetLedgerParameters } from './postgresBudgetLedger';
export {
  migratePostgres,
  postgresTables,
  POSTGRES_TABLE_PREFIX,
  type PostgresTables,
  type PostgresTablesParameters,
} from './postgresSchema';
export type { PostgresSource, PgPool, PgPoolClient, PgliteDatabase, PgQueryResult } from './postgres';
export { SQLITE_BUSY_TIMEOUT_MS, type SqliteSource } from './openSqlite';
