import { createSqlitePaymentStore, type SqlitePaymentStore } from './sqlitePaymentStore';

/** Options of {@link defaultPaymentStore}. */
export type DefaultPaymentStoreParameters = {
  /** The SQLite file (created if missing), in a directory the server may write to and that survives restarts. */
  path: string;
};

/**
 * The store a server outside tests should use when it runs on one machine: SQLite in a file you choose,
 * so replay protection, idempotent retries, receipts and pending settlements survive a restart, and several
 * processes on the machine can share it. Servers on several machines want `createRedisPaymentStore`;
 * tests want `createMemoryPaymentStore`.
 *
 * @example
 * import { defaultPaymentStore } from 'x402-rails/stores';
 * const store = defaultPaymentStore({ path: './data/x402.sqlite' });
 * const app = paywall({ routes, rails, store });
 */
export function defaultPaymentStore(parameters: DefaultPaymentStoreParameters): SqlitePaymentStore {
  return createSqlitePaymentStore({ path: parameters.path });
}
