import { canonicalJson } from '../core/canonical';
import { createHash } from 'node:crypto';
import { redactSpendable } from './auditEvidence';

/** What an audit entry records. */
export type AuditKind = 'challenge' | 'payment' | 'refused' | 'rejected' | 'settlement' | 'refund';

/** One event with its evidence, as appended. */
export type AuditRecord = {
  kind: AuditKind;
  /** Milliseconds since the epoch. */
  at: number;
  route?: string;
  paymentId?: string;
  rail?: string;
  network?: string;
  asset?: string;
  payer?: string;
  /** Atomic units. */
  amount?: string;
  /** base64url SHA-256 of the canonical request binding (method, URL, body hash). */
  requestHash?: string;
  /** `settled`, `failed`, `pending`, `error` for settlements. */
  outcome?: string;
  reason?: string;
  /**
   * What proves the event: the payment payload's digest (`payloadSha256`), the signed receipt (its `proof` as a
   * digest). Never what can be spent: every log stores the record through `redactSpendable`, which replaces
   * payloads, preimages, macaroons, tokens and signatures with their SHA-256.
   */
  evidence?: Record<string, unknown>;
};

/** An appended entry: its place in the log and its link in the hash chain. */
export type AuditEntry = AuditRecord & { seq: number; prevHash: string; hash: string };

/** Which entries {@link AuditLog.list} returns, oldest first. */
export type AuditQuery = { kind?: AuditKind; paymentId?: string; since?: number; limit?: number };

/**
 * An append-only audit log: every entry is chained to the one before by SHA-256, so an altered, removed or
 * reordered entry shows in {@link verifyAuditChain}. Entries are only removed by `prune`, oldest first, once
 * older than the retention.
 */
export interface AuditLog {
  append(record: AuditRecord): Promise<AuditEntry>;
  list(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Removes the entries older than the retention; answers how many. */
  prune(now?: number): Promise<number>;
}

/** The hash of the first entry's predecessor. */
export const AUDIT_GENESIS = 'genesis';

/** Hash of an entry: SHA-256 (base64url) of its canonical JSON with `seq` and `prevHash`. */
export function auditEntryHash(record: AuditRecord, seq: number, prevHash: string): string {
  return createHash('sha256')
    .update(canonicalJson({ ...record, seq, prevHash }))
    .digest('base64url');
}

/**
 * Links a record after `previous` (or at the start of the log), as it is stored: spendable evidence replaced by its
 * digest ({@link redactSpendable}), JSON only. Store what this answers (not the input).
 */
export function chainAuditEntry(input: AuditRecord, previous: { seq: number; hash: string } | undefined): AuditEntry {
  // As stored: JSON only (absent fields dropped), so the hash reads back the same from any store.
  const record = JSON.parse(JSON.stringify(redactSpendable(input))) as AuditRecord;
  const seq = (previous?.seq ?? 0) + 1;
  const prevHash = previous?.hash ?? AUDIT_GENESIS;
  return { ...record, seq, prevHash, hash: auditEntryHash(record, seq, prevHash) };
}

/** Result of {@link verifyAuditChain}. */
export type AuditChainCheck = { ok: true; entries: number } | { ok: false; seq: number; problem: string };

/**
 * Checks a run of consecutive entries (the whole log, or what retention left): every hash matches its entry
 * and links to the one before, with no gap in `seq`.
 *
 * @example const check = verifyAuditChain(await log.list()); if (!check.ok) alert(check);
 */
export function verifyAuditChain(entries: readonly AuditEntry[]): AuditChainCheck {
  let previous: AuditEntry | undefined;
  for (const entry of entries) {
    const { seq, prevHash, hash, ...record } = entry;
    if (previous && seq !== previous.seq + 1)
      return { ok: false, seq, problem: `entry ${previous.seq + 1} is missing` };
    if (previous && prevHash !== previous.hash)
      return { ok: false, seq, problem: 'does not link to the entry before it' };
    if (auditEntryHash(record, seq, prevHash) !== hash)
      return { ok: false, seq, problem: 'its content does not match its hash' };
    previous = entry;
  }
  return { ok: true, entries: entries.length };
}

/** Keeps the fields of a query's filter; shared by the log implementations. */
export function matchesAuditQuery(entry: AuditEntry, query: AuditQuery): boolean {
  return (
    (query.kind === undefined || entry.kind === query.kind) &&
    (query.paymentId === undefined || entry.paymentId === query.paymentId) &&
    (query.since === undefined || entry.at >= query.since)
  );
}
