import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { ConfigurationError } from '../core/errors';

/**
 * better-sqlite3 (an optional peer, a native module), loaded on the first SQLite store opened from a path, so the
 * subpaths that also hold memory and Redis stores import without it.
 */
function loadBetterSqlite3(): typeof Database {
  const require = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  try {
    return require('better-sqlite3') as typeof Database;
  } catch (cause) {
    throw new ConfigurationError(
      'The SQLite stores need better-sqlite3, which is not installed: npm install better-sqlite3 (or use a memory, Redis or Postgres store).',
      { cause },
    );
  }
}

/** Where a SQLite store keeps its data: a file path, or an open better-sqlite3 database. */
export type SqliteSource = { path: string; database?: undefined } | { database: Database.Database; path?: undefined };

/** An open database and whether the store owns it (and so closes it). */
export type OpenedSqlite = { db: Database.Database; owned: boolean };

/** How long a writer waits for another connection's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens (or adopts) a better-sqlite3 database for a store: WAL journal (readers never block the writer),
 * a busy timeout so connections of several processes queue for the write lock instead of failing, and
 * `synchronous = NORMAL` (durable across process crashes; WAL keeps the file consistent on power loss).
 *
 * @example const { db, owned } = openSqlite({ path: './x402.sqlite' })
 */
export function openSqlite(source: SqliteSource, busyTimeoutMs = SQLITE_BUSY_TIMEOUT_MS): OpenedSqlite {
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    throw new ConfigurationError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}.`);
  const db = source.database ?? new (loadBetterSqlite3())(source.path, { timeout: busyTimeoutMs });
  if (!db.open)
    throw new ConfigurationError(
      'The SQLite database given to the store is closed. Pass an open better-sqlite3 Database or a path.',
    );
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  if (db.name !== ':memory:' && db.name !== '') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return { db, owned: source.database === undefined };
}

/**
 * Checks a table prefix before it goes into SQL: letters, digits and `_`, starting with a letter or `_`.
 *
 * @example tableName('x402_', 'payments') // 'x402_payments'
 */
export function tableName(prefix: string, name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,48}$/.test(`${prefix}${name}`)) {
    throw new ConfigurationError(
      `Table prefix ${JSON.stringify(prefix)} is not allowed: use letters, digits and "_" only.`,
    );
  }
  return `${prefix}${name}`;
}
