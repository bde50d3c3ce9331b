/**
 * x402-rails/dashboard: the operator's receipts dashboard over the payment store, behind a bearer key —
 * receipts re-verified against the JWKS with filters, revenue per rail and route, pending settlements with the
 * reconcile action, metering sessions, refunds, the audit chain, CSV and JSON-lines exports.
 */
export { dashboardHandler, type DashboardOptions } from './dashboardHandler';
export {
  checkedReceipts,
  revenueOf,
  sessionsOf,
  receiptsCsv,
  receiptsJsonLines,
  type CheckedReceipt,
  type DashboardSources,
} from './summarize';
export {
  DASHBOARD_API,
  type AuditCheck,
  type DashboardFilters,
  type DashboardSummary,
  type PendingRow,
  type ReceiptRow,
  type RefundRow,
  type RevenuePoint,
  type SessionRow,
} from './dashboardData';
