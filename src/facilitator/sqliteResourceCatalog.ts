import type Database from 'better-sqlite3';
import { z } from 'zod';
import { openSqlite, tableName, type SqliteSource } from '../stores/openSqlite';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import {
  mergeDiscoveryResource,
  pageOf,
  parseDiscoveryResource,
  type DiscoveryResource,
  type DiscoveryResourcesResponse,
  type ResourceCatalog,
} from './resourceCatalog';

/** Options of {@link createSqliteResourceCatalog}: a file `path` (created if missing) or an open `database`. */
export type SqliteResourceCatalogParameters = SqliteSource & {
  /** Prefix of the table name (default `x402_`; the table is `<prefix>discovery_resources`). */
  tablePrefix?: string;
  /** Most resources kept; the least recently paid are dropped beyond (default 10,000). */
  maxEntries?: number;
};

/** A {@link ResourceCatalog} in a SQLite file. */
export type SqliteResourceCatalog = ResourceCatalog & {
  readonly database: Database.Database;
  /** Closes the database if the catalog opened it. */
  close(): void;
};

const RowSchema = z.object({ entry: z.string() });

/**
 * The facilitator's discovery catalog in SQLite: the resources settled through it survive a restart, and several
 * facilitator processes on one machine feed and list one catalog. Each record reads, merges
 * ({@link mergeDiscoveryResource}) and writes in one IMMEDIATE transaction.
 *
 * @example createFacilitator({ rails, catalog: createSqliteResourceCatalog({ path: './data/x402.sqlite' }) })
 */
export function createSqliteResourceCatalog(parameters: SqliteResourceCatalogParameters): SqliteResourceCatalog {
  const { db, owned } = openSqlite(parameters);
  const t = tableName(parameters.tablePrefix ?? 'x402_', 'discovery_resources');
  const maxEntries = parameters.maxEntries ?? 10_000;
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t} (
      url        TEXT PRIMARY KEY NOT NULL,
      type       TEXT NOT NULL,
      entry      TEXT NOT NULL,
      updated_at INTEGER NOT NULL,
      seq        INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${t}_recent ON ${t} (seq);
  `);
  const getStmt = db.prepare(`SELECT entry FROM ${t} WHERE url = ?`);
  const putStmt = db.prepare(
    `INSERT OR REPLACE INTO ${t} (url, type, entry, updated_at, seq) VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM ${t}))`,
  );
  const trimStmt = db.prepare(`DELETE FROM ${t} WHERE seq <= (SELECT MAX(seq) FROM ${t}) - ?`);
  const countStmt = db.prepare(`SELECT COUNT(*) AS n FROM ${t} WHERE (? IS NULL OR type = ?)`);
  const pageStmt = db.prepare(
    `SELECT entry FROM ${t} WHERE (? IS NULL OR type = ?) ORDER BY seq DESC LIMIT ? OFFSET ?`,
  );

  const parse = (raw: unknown, url: string): DiscoveryResource => {
    const row = RowSchema.safeParse(raw);
    try {
      const entry = row.success ? parseDiscoveryResource(row.data.entry) : undefined;
      if (entry) return entry;
    } catch {
      // reported below
    }
    throw new StoreCorruptError('sqlite discovery catalog', url, 'the entry does not decode');
  };

  const record = db.transaction(
    (url: string, merge: (existing: DiscoveryResource | undefined) => DiscoveryResource | undefined, now: number) => {
      const raw = getStmt.get(url);
      const entry = merge(raw === undefined ? undefined : parse(raw, url));
      if (!entry) return;
      putStmt.run(url, entry.type, JSON.stringify(entry), now);
      trimStmt.run(maxEntries);
    },
  );

  return {
    database: db,
    record: (request, now) =>
      guardStore('sqlite discovery catalog', 'record', () => {
        const url = request.paymentPayload.resource?.url;
        if (url === undefined) return;
        record.immediate(url, (existing) => mergeDiscoveryResource(existing, request, now), now);
      }),
    list: (query) =>
      guardStore('sqlite discovery catalog', 'list', (): DiscoveryResourcesResponse => {
        const { limit, offset } = pageOf(query);
        const type = query.type ?? null;
        const total = z.object({ n: z.number() }).parse(countStmt.get(type, type)).n;
        const items = pageStmt.all(type, type, limit, offset).map((raw) => parse(raw, '(page)'));
        return { x402Version: 2, items, pagination: { limit, offset, total } };
      }),
    close() {
      if (owned) db.close();
    },
  };
}
