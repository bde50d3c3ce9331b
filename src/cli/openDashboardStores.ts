/**
 * What `x402-rails dashboard` reads: the paywall's payment store and, optionally, the risk controls' audit log,
 * each named by one location — a `postgres://` / `postgresql://` URL (the Postgres stores, through `pg`), a
 * `redis://` / `rediss://` URL (the Redis stores, through `ioredis`), or a file path (SQLite). The clients are
 * loaded only for the kind asked for; `close()` ends every connection this opened.
 */
import type { AuditLog } from '../risk/auditLog';
import type { PaymentStore } from '../stores/paymentStore';
import type { PgPool } from '../stores/postgres';
import { UsageError } from './errors';
import { requirePackages } from './requirePackages';

/** The kind of store a location names. */
export type StoreKind = 'postgres' | 'redis' | 'sqlite';

/** Parameters of {@link openDashboardStores}. */
export type OpenDashboardStoresParameters = {
  /** Where the payment store is: a Postgres or Redis URL, or a SQLite file. */
  store: string;
  /** Where the audit log is (same forms), if any. */
  audit?: string;
  /** Table prefix (SQLite, Postgres) or key prefix (Redis) of the stores; each store's default when omitted. */
  prefix?: string;
};

/** What {@link openDashboardStores} opened. */
export type OpenDashboardStoresReturnType = {
  store: PaymentStore;
  storeKind: StoreKind;
  auditLog?: AuditLog;
  close(): Promise<void>;
};

/**
 * The kind of store `location` names: Postgres and Redis by URL scheme, anything else a SQLite file.
 *
 * @example storeKindOf('postgres://db.internal/shop') // 'postgres'
 */
export function storeKindOf(location: string): StoreKind {
  if (/^postgres(ql)?:\/\//i.test(location)) return 'postgres';
  if (/^rediss?:\/\//i.test(location)) return 'redis';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
    throw new UsageError(
      `Unknown store ${JSON.stringify(location.split('://')[0])}://: give a postgres:// or redis:// URL, or a SQLite file.`,
      'dashboard',
    );
  return 'sqlite';
}

/**
 * Opens the payment store (and the audit log) the dashboard reads. Postgres: one `pg` Pool per URL over the tables
 * the paywall migrated (the dashboard only reads; it creates nothing). Redis: one ioredis client per URL.
 *
 * @example const { store, auditLog, close } = await openDashboardStores({ store: 'postgres://127.0.0.1/shop' });
 */
export async function openDashboardStores(p: OpenDashboardStoresParameters): Promise<OpenDashboardStoresReturnType> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  const kinds = [storeKindOf(p.store), ...(p.audit === undefined ? [] : [storeKindOf(p.audit)])];
  if (kinds.includes('postgres')) requirePackages('dashboard over Postgres', ['pg']);
  if (kinds.includes('redis')) requirePackages('dashboard over Redis', ['ioredis']);
  const pools = new Map<string, PgPool>();
  const pool = async (url: string) => {
    let existing = pools.get(url);
    if (!existing) {
      const { default: pg } = await import('pg');
      const opened = new pg.Pool({ connectionString: url, max: 4 });
      opened.on('error', () => {}); // an idle connection dropped by the server must not end the dashboard
      closers.push(() => opened.end());
      pools.set(url, opened);
      existing = opened;
    }
    return existing;
  };
  const redisClients = new Map<string, InstanceType<typeof import('ioredis').Redis>>();
  const redis = async (url: string) => {
    let existing = redisClients.get(url);
    if (!existing) {
      const { Redis } = await import('ioredis');
      existing = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
      const opened = existing;
      closers.push(async () => void (await opened.quit()));
      redisClients.set(url, existing);
    }
    return existing;
  };
  const prefix = p.prefix;
  try {
    let store: PaymentStore;
    const storeKind = storeKindOf(p.store);
    if (storeKind === 'postgres') {
      const { createPostgresPaymentStore } = await import('../stores/postgresPaymentStore');
      store = createPostgresPaymentStore({ pool: await pool(p.store), ...(prefix ? { tablePrefix: prefix } : {}) });
    } else if (storeKind === 'redis') {
      const { createRedisPaymentStore } = await import('../stores/redisPaymentStore');
      store = createRedisPaymentStore({ redis: await redis(p.store), ...(prefix ? { keyPrefix: prefix } : {}) });
    } else {
      const { createSqlitePaymentStore } = await import('../stores/sqlitePaymentStore');
      const sqlite = createSqlitePaymentStore({ path: p.store, ...(prefix ? { tablePrefix: prefix } : {}) });
      closers.push(() => sqlite.close());
      store = sqlite;
    }
    let auditLog: AuditLog | undefined;
    if (p.audit !== undefined) {
      const auditKind = storeKindOf(p.audit);
      if (auditKind === 'postgres') {
        const { createPostgresAuditLog } = await import('../risk/postgresAuditLog');
        auditLog = createPostgresAuditLog({ pool: await pool(p.audit), ...(prefix ? { tablePrefix: prefix } : {}) });
      } else if (auditKind === 'redis') {
        const { createRedisAuditLog } = await import('../risk/redisAuditLog');
        auditLog = createRedisAuditLog({ redis: await redis(p.audit), ...(prefix ? { keyPrefix: prefix } : {}) });
      } else {
        const { createSqliteAuditLog } = await import('../risk/sqliteAuditLog');
        const log = createSqliteAuditLog({ path: p.audit });
        closers.push(() => log.close());
        auditLog = log;
      }
    }
    return { store, storeKind, ...(auditLog ? { auditLog } : {}), close };
  } catch (error) {
    await close();
    throw error;
  }
}
