import { hashCanonical } from '../core/canonical';
import type { AuditRecord } from './auditLog';

/**
 * Evidence keys whose values can be spent or presented as a credential while they live: a payment payload (an
 * unsettled EIP-3009 / EIP-2612 / Permit2 signature, a partially signed Solana transaction, an L402 macaroon and
 * preimage), the preimage itself, a macaroon, a receipt's `proof`, an authorization a metering session settles
 * from, a session or capability token. The audit log keeps their SHA-256 (`<key>Sha256`) instead: whoever holds
 * the value can show it matches the record, whoever reads the record cannot spend it.
 */
export const SPENDABLE_EVIDENCE_KEYS: ReadonlySet<string> = new Set([
  'payload',
  'preimage',
  'macaroon',
  'macaroons',
  'proof',
  'transaction',
  'authorization',
  'token',
  'credential',
]);

/** An EVM signature (65 bytes hex, possibly more for smart-account signatures): spendable with its message. */
const HEX_SIGNATURE = /^0x[0-9a-fA-F]{128,}$/;
const MAX_DEPTH = 16;

/**
 * The SHA-256 (base64url) of a value's canonical JSON: what the audit log records in place of a spendable value.
 *
 * @example evidenceDigest({ preimage: '…', macaroon: '…' }) // 'q1w2…' (43 characters)
 */
export function evidenceDigest(value: unknown): string {
  return hashCanonical(value);
}

/**
 * A record with every spendable value in its evidence (at any depth) replaced by its digest under `<key>Sha256`
 * (see {@link SPENDABLE_EVIDENCE_KEYS}; also a bare hex EVM `signature`). A receipt's issuer `signature` (a JWS) is
 * kept, so a stored receipt still shows who signed it; its `proof` (a Lightning preimage) is kept as a digest (the
 * node still knows the preimage; for Lightning, SHA-256 of the preimage bytes is the payment hash on record).
 * Every audit log runs its records through this before they are chained and stored.
 *
 * @example redactSpendable({ kind: 'payment', at, evidence: { payload } }).evidence // { payloadSha256: '…' }
 */
export function redactSpendable(record: AuditRecord): AuditRecord {
  if (record.evidence === undefined) return record;
  return { ...record, evidence: redactObject(record.evidence, 0) };
}

function redactObject(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner === undefined) continue;
    if (
      SPENDABLE_EVIDENCE_KEYS.has(key) ||
      (key === 'signature' && typeof inner === 'string' && HEX_SIGNATURE.test(inner))
    ) {
      out[`${key}Sha256`] = evidenceDigest(inner);
    } else {
      out[key] = redactValue(inner, depth + 1);
    }
  }
  return out;
}

function redactValue(value: unknown, depth: number): unknown {
  // Deeper than any evidence the framework writes: keep only a digest rather than walk on.
  if (depth > MAX_DEPTH) return { digestSha256: evidenceDigest(value) };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (typeof value === 'object' && value !== null)
    return redactObject(Object.fromEntries(Object.entries(value)), depth);
  return value;
}
