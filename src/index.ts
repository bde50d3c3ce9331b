/**
 * x402-rails: pay and get paid over HTTP 402 on any settlement rail.
 * Core (protocol, negotiation, policy, receipts), server paywall and paying client.
 */
export * from './core/errors';
export * from './core/rail';
export * from './core/mppRail';
export * from './core/policy';
export * from './core/negotiate';
export * from './core/canonical';
export * from './core/receipt/index';
export * from './protocol/caip';
export * from './protocol/schemas';
export * from './protocol/headers';
export * from './protocol/jsonCodec';
export * from './protocol/v1';
export * from './protocol/reasons';
export * from './protocol/mpp/index';
export * from './stores/paymentStore';
export * from './stores/memoryPaymentStore';
export { paywall, type Paywall, type PaywallOptions, type PaywallEvent, type FetchHandler } from './server/paywall';
export { reportCharge, reportedCharge } from './server/reportCharge';
export type { RouteConfig, RoutesConfig } from './server/routes';
export { CHALLENGE_FIELD } from './server/challenge';
export type { ReconcileReport } from './server/reconcilePayments';
export {
  paywallOperations,
  type PaywallOperations,
  type PaywallOperationsParameters,
  type OperationsBreaker,
} from './server/operations';
export { settleResponseOf } from './server/issueReceipt';
export { payingFetch, type PayingFetchOptions, type FetchLike } from './client/payingFetch';
export { receiptOf, type PaymentOutcome } from './client/paymentOutcome';
export {
  createOriginStrikes,
  type OriginStrikes,
  type OriginStrikesOptions,
  type Strike,
} from './client/originStrikes';
export { type ReceiptCheck } from './client/checkReceipt';
export { readChallenge, type ReadChallenge } from './client/readChallenge';
export {
  createBudgetLedger,
  type Budget,
  type BudgetLedger,
  type Reservation,
  type SpendRequest,
} from './client/budgetLedger';
export type {
  PaywallExtension,
  ExtensionRequestContext,
  ExtensionBeforeContext,
  ExtensionPaidContext,
  ExtensionReplayContext,
} from './server/extensions';
export { discover } from './discovery/discover';
export type { DiscoveryManifest, DiscoveryItem, RouteDiscovery } from './discovery/manifest';
