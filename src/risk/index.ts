/**
 * x402-rails/risk: server risk controls (payer screening, spending caps, circuit breakers) and the
 * append-only, hash-chained audit log, as one paywall extension.
 */
export { riskControls, type RiskControls, type RiskControlsOptions } from './riskControls';
export {
  payerScreening,
  normalizePayer,
  type PayerScreeningOptions,
  type ScreenedPayer,
  type ScreeningResult,
} from './payerScreening';
export {
  spendingCaps,
  type SpendingCaps,
  type SpendingCapsOptions,
  type AmountCap,
  type CappedPayment,
} from './spendingCaps';
export { createMemoryCapCounter, type CapCounter, type CapLimit } from './capCounter';
export { createSqliteCapCounter, type SqliteCapCounterOptions } from './sqliteCapCounter';
export { createRedisCapCounter, type RedisCapCounterParameters } from './redisCapCounter';
export { createPostgresCapCounter, type PostgresCapCounterParameters } from './postgresCapCounter';
export { circuitBreakers, type CircuitBreakers, type CircuitBreakerOptions, type BreakerState } from './circuitBreaker';
export {
  verifyAuditChain,
  chainAuditEntry,
  auditEntryHash,
  AUDIT_GENESIS,
  type AuditLog,
  type AuditEntry,
  type AuditRecord,
  type AuditKind,
  type AuditQuery,
  type AuditChainCheck,
} from './auditLog';
export { redactSpendable, evidenceDigest, SPENDABLE_EVIDENCE_KEYS } from './auditEvidence';
export { createMemoryAuditLog, type AuditLogOptions } from './memoryAuditLog';
export { createSqliteAuditLog, type SqliteAuditLogOptions } from './sqliteAuditLog';
export { createRedisAuditLog, type RedisAuditLogOptions } from './redisAuditLog';
export { createPostgresAuditLog, type PostgresAuditLogParameters } from './postgresAuditLog';
