import { ReceiptInvalidError } from '../core/errors';
import type { ReceiptJwks } from '../core/receipt/signer';
import type { SignedReceipt } from '../core/receipt/receipt';
import { verifyReceipt } from '../core/receipt/verifyReceipt';
import { verifyAuditChain, type AuditLog } from '../risk/auditLog';
import type { PaymentStore, SettledListingStore, SettledPayment } from '../stores/paymentStore';
import type {
  AuditCheck,
  DashboardFilters,
  PendingRow,
  ReceiptRow,
  RefundRow,
  RevenuePoint,
  SessionRow,
} from './dashboardData';

/** Where the dashboard reads from. */
export type DashboardSources = {
  store: SettledListingStore;
  jwks: () => Promise<ReceiptJwks>;
  issuer?: string;
  auditLog?: AuditLog;
};

/** A verified-or-flagged receipt row with its signed receipt (for the JSON lines export). */
export type CheckedReceipt = { row: ReceiptRow; signed: SignedReceipt };

function routeOf(receipt: SignedReceipt): string {
  const path = URL.canParse(receipt.request.url) ? new URL(receipt.request.url).pathname : receipt.request.url;
  return `${receipt.request.method} ${path}`;
}

function timeOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The settled receipts matching the filters, newest first, each re-verified against the JWKS: a receipt whose
 * stored fields or signature were altered is kept and flagged (`verified: false` with the reason), never hidden.
 */
export async function checkedReceipts(sources: DashboardSources, filters: DashboardFilters): Promise<CheckedReceipt[]> {
  const since = timeOf(filters.from);
  const until = timeOf(filters.to);
  const listed: SettledPayment[] = await sources.store.listSettled({
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  });
  const jwks = await sources.jwks();
  const out: CheckedReceipt[] = [];
  for (const { paymentId, record } of listed) {
    const signed = record.receipt;
    const route = routeOf(signed);
    if (filters.rail && signed.rail !== filters.rail) continue;
    if (filters.route && route !== filters.route && !route.endsWith(` ${filters.route}`)) continue;
    if (filters.payer && signed.payer.toLowerCase() !== filters.payer.toLowerCase()) continue;
    let problem: string | undefined;
    try {
      await verifyReceipt(signed, jwks, sources.issuer === undefined ? {} : { issuer: sources.issuer });
    } catch (error) {
      if (!(error instanceof ReceiptInvalidError)) throw error;
      problem = error.message;
    }
    out.push({
      signed,
      row: {
        paymentId,
        id: signed.id,
        rail: signed.rail,
        route,
        network: signed.network,
        asset: signed.asset,
        amount: signed.amount,
        payer: signed.payer,
        payee: signed.payee,
        reference: signed.reference,
        settledAt: signed.settledAt ?? new Date(record.settledAt).toISOString(),
        verified: problem === undefined,
        ...(problem === undefined ? {} : { problem }),
        ...(signed.metering ? { session: signed.metering.session } : {}),
      },
    });
  }
  return out;
}

/** Revenue per UTC day, rail and route (atomic units summed as bigint; only verified receipts count). */
export function revenueOf(receipts: readonly CheckedReceipt[]): RevenuePoint[] {
  const sums = new Map<string, RevenuePoint & { total: bigint }>();
  for (const { row, signed } of receipts) {
    if (!row.verified) continue;
    const charged = signed.metering ? BigInt(signed.metering.charged) : BigInt(row.amount);
    const day = row.settledAt.slice(0, 10);
    const key = `${day}|${row.rail}|${row.route}|${row.asset}`;
    const point = sums.get(key) ?? { day, rail: row.rail, route: row.route, asset: row.asset, amount: '0', total: 0n };
    point.total += charged;
    sums.set(key, point);
  }
  return [...sums.values()]
    .map(({ total, ...p }) => ({ ...p, amount: total.toString() }))
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/** Metering sessions as their receipts tell them (the latest receipt of each wins). */
export function sessionsOf(receipts: readonly CheckedReceipt[]): SessionRow[] {
  const latest = new Map<string, { seq: number; row: SessionRow }>();
  for (const { signed } of receipts) {
    const m = signed.metering;
    if (!m) continue;
    const known = latest.get(m.session);
    const calls = Math.max(known?.row.calls ?? 0, m.seq);
    if (known && known.seq >= m.seq) {
      known.row.calls = calls;
      continue;
    }
    latest.set(m.session, {
      seq: m.seq,
      row: {
        session: m.session,
        rail: signed.rail,
        authorized: m.authorized,
        used: m.used,
        remaining: m.remaining,
        calls,
        final: m.final === true,
        ...(m.refund ? { refund: `${m.refund.amount} (${m.refund.status})` } : {}),
      },
    });
  }
  return [...latest.values()].map((v) => v.row);
}

/** Pending settlements, oldest first. */
export async function pendingOf(store: PaymentStore): Promise<PendingRow[]> {
  return (await store.listPending()).map(({ paymentId, record }) => ({
    paymentId,
    rail: record.rail,
    reference: record.reference,
    since: new Date(record.updatedAt).toISOString(),
  }));
}

/** The audit log's chain checked end to end, and its refunds. */
export async function auditOf(auditLog: AuditLog | undefined): Promise<{ audit: AuditCheck; refunds: RefundRow[] }> {
  if (!auditLog) return { audit: { configured: false }, refunds: [] };
  const entries = await auditLog.list();
  const check = verifyAuditChain(entries);
  const refunds = entries
    .filter((e) => e.kind === 'refund')
    .map((e) => ({
      at: new Date(e.at).toISOString(),
      paymentId: e.paymentId ?? '',
      rail: e.rail ?? '',
      amount: e.amount ?? '',
      outcome: e.outcome ?? '',
      ...(e.reason ? { reason: e.reason } : {}),
    }));
  return {
    audit: check.ok
      ? { configured: true, ok: true, entries: check.entries }
      : { configured: true, ok: false, seq: check.seq, problem: check.problem },
    refunds,
  };
}

/** One CSV field, quoted when needed (and guarded against spreadsheet formula injection). */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The receipts as CSV, one line per receipt, with the verification outcome. */
export function receiptsCsv(receipts: readonly CheckedReceipt[]): string {
  const header = [
    'settled_at',
    'receipt_id',
    'payment_id',
    'rail',
    'route',
    'network',
    'asset',
    'amount',
    'payer',
    'payee',
    'reference',
    'verified',
    'problem',
  ];
  const lines = receipts.map(({ row }) =>
    [
      row.settledAt,
      row.id,
      row.paymentId,
      row.rail,
      row.route,
      row.network,
      row.asset,
      row.amount,
      row.payer,
      row.payee,
      row.reference,
      String(row.verified),
      row.problem ?? '',
    ]
      .map(csvField)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\r\n')}\r\n`;
}

/** The signed receipts as JSON lines, exactly as stored (each verifiable offline with `x402-rails receipt verify`). */
export function receiptsJsonLines(receipts: readonly CheckedReceipt[]): string {
  return receipts.map(({ signed }) => `${JSON.stringify(signed)}\n`).join('');
}
