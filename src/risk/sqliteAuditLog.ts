import { z } from 'zod';
import { openSqlite, tableName, type SqliteSource } from '../stores/openSqlite';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import { chainAuditEntry, type AuditEntry, type AuditLog, type AuditRecord } from './auditLog';
import type { AuditLogOptions } from './memoryAuditLog';

/** Options of {@link createSqliteAuditLog}. */
export type SqliteAuditLogOptions = SqliteSource & AuditLogOptions & { tablePrefix?: string };

const RowSchema = z.object({ seq: z.number(), body: z.string(), prev_hash: z.string(), hash: z.string() });

/**
 * A SQLite {@link AuditLog} (better-sqlite3): entries are appended in an IMMEDIATE transaction that reads the
 * last hash, so several processes on one file keep one chain; a trigger refuses any UPDATE, and only `prune`
 * deletes (entries past the retention).
 *
 * @example const audit = createSqliteAuditLog({ path: './data/audit.sqlite', retentionMs: 365 * 86_400_000 });
 */
export function createSqliteAuditLog(options: SqliteAuditLogOptions): AuditLog & { close(): void } {
  const retention = options.retentionMs ?? 400 * 86_400_000;
  const now = options.now ?? Date.now;
  const { db, owned } = openSqlite(options);
  const t = tableName(options.tablePrefix ?? 'x402_', 'audit');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t} (
      seq        INTEGER PRIMARY KEY,
      at         INTEGER NOT NULL,
      kind       TEXT NOT NULL,
      payment_id TEXT,
      body       TEXT NOT NULL,
      prev_hash  TEXT NOT NULL,
      hash       TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${t}_payment ON ${t} (payment_id) WHERE payment_id IS NOT NULL;
    CREATE TRIGGER IF NOT EXISTS ${t}_append_only BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `);
  const lastStmt = db.prepare(`SELECT seq, body, prev_hash, hash FROM ${t} ORDER BY seq DESC LIMIT 1`);
  const insertStmt = db.prepare(
    `INSERT INTO ${t} (seq, at, kind, payment_id, body, prev_hash, hash) VALUES (@seq, @at, @kind, @paymentId, @body, @prevHash, @hash)`,
  );
  const listStmt = db.prepare(`
    SELECT seq, body, prev_hash, hash FROM ${t}
    WHERE (@kind IS NULL OR kind = @kind) AND (@paymentId IS NULL OR payment_id = @paymentId) AND (@since IS NULL OR at >= @since)
    ORDER BY seq LIMIT @limit`);
  const pruneStmt = db.prepare(`DELETE FROM ${t} WHERE at < ?`);

  const toEntry = (raw: unknown): AuditEntry => {
    const row = RowSchema.safeParse(raw);
    if (!row.success)
      throw new StoreCorruptError('sqlite audit', '(audit)', 'a row does not match the table layout', {
        cause: row.error,
      });
    return {
      ...(JSON.parse(row.data.body) as AuditRecord),
      seq: row.data.seq,
      prevHash: row.data.prev_hash,
      hash: row.data.hash,
    };
  };
  const appendTx = db.transaction((record: AuditRecord): AuditEntry => {
    const last = lastStmt.get();
    const entry = chainAuditEntry(record, last === undefined ? undefined : toEntry(last));
    // The body is the record as chained (spendable evidence already replaced by its digest), never the input.
    const { seq: _seq, prevHash: _prev, hash: _hash, ...stored } = entry;
    insertStmt.run({
      seq: entry.seq,
      at: entry.at,
      kind: entry.kind,
      paymentId: entry.paymentId ?? null,
      body: JSON.stringify(stored),
      prevHash: entry.prevHash,
      hash: entry.hash,
    });
    return entry;
  });

  return {
    append: (record) => guardStore('sqlite audit', 'append', () => appendTx.immediate(record)),
    list: (query = {}) =>
      guardStore('sqlite audit', 'list', () =>
        listStmt
          .all({
            kind: query.kind ?? null,
            paymentId: query.paymentId ?? null,
            since: query.since ?? null,
            limit: query.limit ?? -1,
          })
          .map(toEntry),
      ),
    prune: (at = now()) => guardStore('sqlite audit', 'prune', () => pruneStmt.run(at - retention).changes),
    close() {
      if (owned && db.open) db.close();
    },
  };
}
