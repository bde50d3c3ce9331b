import { chainAuditEntry, matchesAuditQuery, type AuditEntry, type AuditLog } from './auditLog';

/** Options of the audit logs. */
export type AuditLogOptions = {
  /** How long entries are kept, ms (default 400 days). */
  retentionMs?: number;
  /** Clock (default `Date.now`). */
  now?: () => number;
};

/**
 * An in-memory {@link AuditLog}, for tests and single short-lived processes.
 *
 * @example const audit = createMemoryAuditLog({ retentionMs: 30 * 86_400_000 });
 */
export function createMemoryAuditLog(options: AuditLogOptions = {}): AuditLog {
  const retention = options.retentionMs ?? 400 * 86_400_000;
  const now = options.now ?? Date.now;
  const entries: AuditEntry[] = [];
  return {
    async append(record) {
      const entry = chainAuditEntry(record, entries.at(-1));
      entries.push(entry);
      return entry;
    },
    async list(query = {}) {
      return entries.filter((e) => matchesAuditQuery(e, query)).slice(0, query.limit ?? Infinity);
    },
    async prune(at = now()) {
      const keepFrom = entries.findIndex((e) => e.at >= at - retention);
      const removed = keepFrom === -1 ? entries.length : keepFrom;
      entries.splice(0, removed);
      return removed;
    },
  };
}
