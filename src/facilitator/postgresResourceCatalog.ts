import { z } from 'zod';
import { lockDecision, PgNumber, postgresRunner, type PostgresSource } from '../stores/postgres';
import { postgresTables, type PostgresTablesParameters } from '../stores/postgresSchema';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import {
  mergeDiscoveryResource,
  pageOf,
  parseDiscoveryResource,
  type DiscoveryResource,
  type ResourceCatalog,
} from './resourceCatalog';

/** Options of {@link createPostgresResourceCatalog}: the pool (or PGlite), a table prefix, the most entries kept. */
export type PostgresResourceCatalogParameters = PostgresSource &
  PostgresTablesParameters & {
    /** Most resources kept; the least recently paid are dropped beyond (default 10,000). */
    maxEntries?: number;
  };

/** A {@link ResourceCatalog} in Postgres, with the migration of its table. */
export type PostgresResourceCatalog = ResourceCatalog & {
  /** Creates the table `<prefix>discovery_resources`; idempotent. */
  migrate(): Promise<void>;
};

const EntryRow = z.object({ entry: z.string() });

/**
 * The facilitator's discovery catalog in Postgres, shared by every facilitator instance on one database. A record
 * takes the resource's advisory lock, reads, merges ({@link mergeDiscoveryResource}) and writes in one transaction, so
 * concurrent settlements of one resource from any number of instances all land in its accepts.
 *
 * @example
 * const catalog = createPostgresResourceCatalog({ pool });
 * await catalog.migrate();
 * createFacilitator({ rails, catalog });
 */
export function createPostgresResourceCatalog(parameters: PostgresResourceCatalogParameters): PostgresResourceCatalog {
  const db = postgresRunner(parameters);
  // Checks the prefix as every Postgres store does; the table sits beside theirs.
  const t = `${postgresTables(parameters.tablePrefix).payments.slice(0, -'payments'.length)}discovery_resources`;
  const maxEntries = parameters.maxEntries ?? 10_000;
  const store = `${db.kind} discovery catalog`;
  const parse = (raw: unknown, url: string): DiscoveryResource => {
    const row = EntryRow.safeParse(raw);
    const entry = row.success ? parseDiscoveryResource(row.data.entry) : undefined;
    if (!entry) throw new StoreCorruptError(store, url, 'the entry does not decode');
    return entry;
  };
  return {
    migrate: () =>
      guardStore(store, 'migrate', async () => {
        await db.query(`CREATE TABLE IF NOT EXISTS ${t} (
          url        TEXT PRIMARY KEY,
          type       TEXT NOT NULL,
          entry      TEXT NOT NULL,
          updated_at BIGINT NOT NULL,
          seq        BIGSERIAL
        )`);
        await db.query(`CREATE INDEX IF NOT EXISTS ${t}_recent ON ${t} (seq)`);
      }),
    record: (request, now) =>
      guardStore(store, 'record', async () => {
        const url = request.paymentPayload.resource?.url;
        if (url === undefined) return;
        await db.transaction(async (query) => {
          await lockDecision(query, [`${t}:${url}`]);
          const [raw] = await query(`SELECT entry FROM ${t} WHERE url = $1`, [url]);
          const entry = mergeDiscoveryResource(raw === undefined ? undefined : parse(raw, url), request, now);
          if (!entry) return;
          await query(
            `INSERT INTO ${t} (url, type, entry, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (url) DO UPDATE SET type = EXCLUDED.type, entry = EXCLUDED.entry,
               updated_at = EXCLUDED.updated_at, seq = nextval(pg_get_serial_sequence('${t}', 'seq'))`,
            [url, entry.type, JSON.stringify(entry), now],
          );
          await query(`DELETE FROM ${t} WHERE seq <= (SELECT MAX(seq) FROM ${t}) - $1`, [maxEntries]);
        });
      }),
    list: (query) =>
      guardStore(store, 'list', async () => {
        const { limit, offset } = pageOf(query);
        const type = query.type ?? null;
        const [count] = await db.query(`SELECT COUNT(*) AS n FROM ${t} WHERE ($1::text IS NULL OR type = $1)`, [type]);
        const total = z.object({ n: PgNumber }).parse(count).n;
        const rows = await db.query(
          `SELECT entry FROM ${t} WHERE ($1::text IS NULL OR type = $1) ORDER BY seq DESC LIMIT $2 OFFSET $3`,
          [type, limit, offset],
        );
        return {
          x402Version: 2 as const,
          items: rows.map((raw) => parse(raw, '(page)')),
          pagination: { limit, offset, total },
        };
      }),
  };
}
