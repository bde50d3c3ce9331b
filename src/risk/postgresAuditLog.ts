import { z } from 'zod';
import { lockDecision, PgNumber, postgresRunner, type PostgresSource } from '../stores/postgres';
import { migratePostgres, postgresTables, type PostgresTablesParameters } from '../stores/postgresSchema';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import { chainAuditEntry, type AuditEntry, type AuditLog, type AuditRecord } from './auditLog';
import type { AuditLogOptions } from './memoryAuditLog';

/** Options of {@link createPostgresAuditLog}: the pool (or PGlite), a table prefix, retention and clock. */
export type PostgresAuditLogParameters = PostgresSource & PostgresTablesParameters & AuditLogOptions;

const RowSchema = z.object({ seq: PgNumber, body: z.string(), prev_hash: z.string(), hash: z.string() });

/**
 * A Postgres {@link AuditLog}: every instance on one database appends to one chain. An append takes the log's
 * advisory lock, reads the last entry and inserts the next in one READ COMMITTED transaction, so writers on any
 * number of instances keep one unbroken chain; a trigger refuses any UPDATE, and only `prune` deletes (entries
 * past the retention).
 *
 * @example
 * const audit = createPostgresAuditLog({ pool, retentionMs: 365 * 86_400_000 });
 * await audit.migrate();
 */
export function createPostgresAuditLog(
  parameters: PostgresAuditLogParameters,
): AuditLog & { migrate(): Promise<void> } {
  const db = postgresRunner(parameters);
  const retention = parameters.retentionMs ?? 400 * 86_400_000;
  const now = parameters.now ?? Date.now;
  const t = postgresTables(parameters.tablePrefix).audit;
  const store = `${db.kind} audit`;

  const toEntry = (raw: unknown): AuditEntry => {
    const row = RowSchema.safeParse(raw);
    if (!row.success)
      throw new StoreCorruptError(store, '(audit)', 'a row does not match the table layout', { cause: row.error });
    return {
      ...(JSON.parse(row.data.body) as AuditRecord),
      seq: row.data.seq,
      prevHash: row.data.prev_hash,
      hash: row.data.hash,
    };
  };

  return {
    migrate: () => migratePostgres(parameters, parameters),
    append: (record) =>
      guardStore(store, 'append', () =>
        db.transaction(async (query) => {
          await lockDecision(query, [t]);
          const [last] = await query(`SELECT seq, body, prev_hash, hash FROM ${t} ORDER BY seq DESC LIMIT 1`);
          const entry = chainAuditEntry(record, last === undefined ? undefined : toEntry(last));
          // The body is the record as chained (spendable evidence already replaced by its digest), never the input.
          const { seq: _seq, prevHash: _prev, hash: _hash, ...stored } = entry;
          await query(
            `INSERT INTO ${t} (seq, at, kind, payment_id, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [
              entry.seq,
              entry.at,
              entry.kind,
              entry.paymentId ?? null,
              JSON.stringify(stored),
              entry.prevHash,
              entry.hash,
            ],
          );
          return entry;
        }),
      ),
    list: (query = {}) =>
      guardStore(store, 'list', async () =>
        (
          await db.query(
            `SELECT seq, body, prev_hash, hash FROM ${t}
             WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR payment_id = $2) AND ($3::bigint IS NULL OR at >= $3)
             ORDER BY seq LIMIT $4`,
            [query.kind ?? null, query.paymentId ?? null, query.since ?? null, query.limit ?? null],
          )
        ).map(toEntry),
      ),
    prune: (at = now()) =>
      guardStore(
        store,
        'prune',
        async () => (await db.query(`DELETE FROM ${t} WHERE at < $1 RETURNING seq`, [at - retention])).length,
      ),
  };
}
