/**
 * x402-rails/stores: durable payment stores (SQLite, Redis) and the SQLite client budget ledger.
 * Kept out of the core entry so better-sqlite3 loads only when asked for; the Redis store only takes an
 * ioredis client you create, so ioredis stays an optional peer.
 */
export * from './paymentStore';
export * from './memoryPaymentStore';
export { createSqlitePaymentStore, type SqlitePaymentStore, type SqlitePaymentStoreParameters } from './sqlitePaymentStore';
export { createRedisPaymentStore, type RedisPaymentStoreParameters } from './redisPaymentStore';
export { createRedisBudgetLedger, type RedisBudgetLedgerParameters } from './redisBudgetLedger';
export { createSqliteBudgetLedger, type SqliteBudgetLedger, type SqliteBudgetLedgerOptions } from './sqliteBudgetLedger';
export { defaultPaymentStore, type DefaultPaymentStoreParameters } from './defaultPaymentStore';
export { StoreCorruptError, StoreUnavailableError } from './storeErrors';
export { SQLITE_BUSY_TIMEOUT_MS, type SqliteSource } from './openSqlite';
