/**
 * What the operator dashboard shows, computed on the server from the payment store: every settled receipt
 * re-verified against the issuer's JWKS, filtered; revenue per rail and route per day; pending settlements;
 * metering sessions (from their receipts) and refunds; the audit log's hash chain checked end to end.
 * Types here are shared with the page script, so the module holds types and pure helpers only.
 */

/** Filters of the receipt list (all optional; `from`/`to` are ISO dates or datetimes, `to` exclusive). */
export type DashboardFilters = { rail?: string; route?: string; payer?: string; from?: string; to?: string };

/** One receipt row, with the outcome of its re-verification. */
export type ReceiptRow = {
  paymentId: string;
  id: string;
  rail: string;
  /** `GET /report`: method and path of the request it paid for. */
  route: string;
  network: string;
  asset: string;
  amount: string;
  payer: string;
  payee: string;
  reference: string;
  settledAt: string;
  /** True when the signature verifies against the JWKS (and the issuer matches, when one is configured). */
  verified: boolean;
  /** Why it does not verify. */
  problem?: string;
  /** Metering session id, when the receipt draws on a deposit. */
  session?: string;
};

/** Revenue of one day on one rail and route, atomic units of the asset. */
export type RevenuePoint = { day: string; rail: string; route: string; asset: string; amount: string };

/** A metering session as its receipts tell it. */
export type SessionRow = {
  session: string;
  rail: string;
  authorized: string;
  used: string;
  remaining: string;
  calls: number;
  final: boolean;
  refund?: string;
};

/** A refund the audit log recorded. */
export type RefundRow = {
  at: string;
  paymentId: string;
  rail: string;
  amount: string;
  outcome: string;
  reason?: string;
};

/** A settlement left pending (broadcast, outcome unknown). */
export type PendingRow = { paymentId: string; rail: string; reference: string; since: string };

/** The audit log's chain check. */
export type AuditCheck =
  | { configured: false }
  | { configured: true; ok: true; entries: number }
  | { configured: true; ok: false; seq: number; problem: string };

/** The dashboard's whole answer for one set of filters. */
export type DashboardSummary = {
  filters: DashboardFilters;
  receipts: ReceiptRow[];
  revenue: RevenuePoint[];
  pending: PendingRow[];
  sessions: SessionRow[];
  refunds: RefundRow[];
  audit: AuditCheck;
  /** Rails and routes seen (for the filter lists). */
  rails: string[];
  routes: string[];
  reconcile: boolean;
};

/** Path under the dashboard's base of each API call. */
export const DASHBOARD_API = {
  summary: '/api/summary',
  reconcile: '/api/reconcile',
  csv: '/api/export.csv',
  jsonl: '/api/export.jsonl',
} as const;

/** Element id of the embedded dashboard config (`{ base, title }`). */
export const DASHBOARD_CONFIG_ID = 'x402-dashboard-config';
