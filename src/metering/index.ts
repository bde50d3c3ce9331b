/**
 * x402-rails/metering: metered usage. A route's price is a prepaid deposit (any rail); each call draws what it
 * used (reported by the handler), answers an incremental signed receipt (running total, remaining), and the
 * close refunds exactly the unused balance (EVM / Solana: a token transfer; Lightning: a client invoice). On EVM a
 * route may instead take an authorization (`settle: 'authorize'`, an EIP-2612 permit) and settle only the total on close.
 */
export { metering, type Metering, type MeteringOptions } from './metering';
export type { MeteredRoute } from './meteredRoute';
export { meteringHeaders, METERING_HEADER_MAX_LENGTH, type MeteringRefusal } from './meteringHeaders';
export {
  signMeteringReceipt,
  encodeMeteringReceipt,
  decodeMeteringReceipt,
  type MeteringReceiptPart,
} from './meteringReceipt';
export type { MeteringRefunder, RefundRequest, RefundResult } from './meteringRefunder';
export type {
  MeteringAuthorizer,
  AuthorizationCheck,
  Authorized,
  AuthorizationRefused,
  SettleAuthorizedRequest,
} from './meteringAuthorizer';
export { SETTLE_MARGIN_SECONDS } from './openAuthorizedSession';
export type { MeteringStore } from './meteringStore';
export type { MeterSession, RefundState, RefundStatus, ReserveResult, CommitResult } from './meterSession';
export { createMemoryMeteringStore } from './memoryMeteringStore';
export {
  createSqliteMeteringStore,
  type SqliteMeteringStore,
  type SqliteMeteringStoreParameters,
} from './sqliteMeteringStore';
export { createRedisMeteringStore, type RedisMeteringStoreParameters } from './redisMeteringStore';
export {
  createPostgresMeteringStore,
  type PostgresMeteringStore,
  type PostgresMeteringStoreParameters,
} from './postgresMeteringStore';
export { meteringStoreOver, type AtomicSessionUpdate, type SessionDecision } from './meteringStoreOver';
export type { CloseOutcome } from './closeMeterSession';
export {
  meteredFetch,
  type MeteredFetch,
  type MeteredFetchOptions,
  type HeldSession,
  type ClosedSession,
} from '../client/meteredFetch';
export { MeteringReceiptSchema } from '../core/receipt/receipt';
