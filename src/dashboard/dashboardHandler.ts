import { ConfigurationError, X402RailsError } from '../core/errors';
import type { ReceiptJwks } from '../core/receipt/signer';
import { bearerCheck } from '../facilitator/bearerAuth';
import type { AuditLog } from '../risk/auditLog';
import type { FetchHandler } from '../server/paywall';
import type { ReconcileReport } from '../server/reconcilePayments';
import { errorResponse, jsonResponse } from '../server/responses';
import { canListSettled, type PaymentStore } from '../stores/paymentStore';
import { cspHash, escapeHtml, jsonForScript } from '../paywall-ui/html';
import { DASHBOARD_API, DASHBOARD_CONFIG_ID, type DashboardFilters, type DashboardSummary } from './dashboardData';
import { DASHBOARD_PAGE_SCRIPT } from './dashboardScript.generated';
import { DASHBOARD_STYLE } from './dashboardStyle';
import {
  auditOf,
  checkedReceipts,
  pendingOf,
  receiptsCsv,
  receiptsJsonLines,
  revenueOf,
  sessionsOf,
  type DashboardSources,
} from './summarize';

/** Options of {@link dashboardHandler}. */
export type DashboardOptions = {
  /** The paywall's payment store (memory, SQLite, Redis or Postgres: any store that can list settled payments). */
  store: PaymentStore;
  /** The receipt issuer's JWKS (`paywall.jwks()`), or how to fetch it: every receipt is re-verified against it. */
  jwks: ReceiptJwks | (() => Promise<ReceiptJwks>);
  /** Bearer keys (≥ 16 characters) that may read the dashboard's data; the page asks for one. */
  bearerKeys: readonly string[];
  /** Where the dashboard is mounted (default `/dashboard`). */
  basePath?: string;
  /** When given, a receipt naming another issuer is flagged. */
  issuer?: string;
  /** The risk controls' audit log: its hash chain is checked end to end, its refunds listed. */
  auditLog?: AuditLog;
  /** Settles pending payments (`paywall.reconcile`): the dashboard's Reconcile button. */
  reconcile?: () => Promise<ReconcileReport>;
  /** Page title (default `x402-rails receipts`). */
  title?: string;
};

const FILTER_KEYS = ['rail', 'route', 'payer', 'from', 'to'] as const;

function filtersOf(url: URL): DashboardFilters {
  const filters: DashboardFilters = {};
  for (const key of FILTER_KEYS) {
    const value = url.searchParams.get(key)?.trim().slice(0, 256);
    if (value) filters[key] = value;
  }
  return filters;
}

/**
 * The receipts dashboard as a Fetch-API handler mounted at `basePath`: an HTML page (public: it holds no data,
 * asks for a bearer key and keeps it in the tab's session storage) and a JSON API behind `Authorization:
 * Bearer <key>` — the summary (receipts with filters, each re-verified against the JWKS; revenue per rail and
 * route per day; pending settlements; metering sessions; refunds; the audit chain check), the reconcile action,
 * and exports as CSV and as JSON lines of the signed receipts. Answers 404 outside `basePath`.
 *
 * @example
 * const dashboard = dashboardHandler({ store, jwks: pw.jwks(), bearerKeys: [process.env.DASHBOARD_KEY!], reconcile: pw.reconcile });
 * app.all('/dashboard/*', (c) => dashboard(c.req.raw));
 */
export function dashboardHandler(options: DashboardOptions): FetchHandler {
  const store = options.store;
  if (!canListSettled(store))
    throw new ConfigurationError(
      'The dashboard needs a payment store that can list settled payments (memory, SQLite, Redis, Postgres).',
    );
  const authorized = bearerCheck(options.bearerKeys);
  const base = (options.basePath ?? '/dashboard').replace(/\/+$/, '');
  const jwks = typeof options.jwks === 'function' ? options.jwks : async () => options.jwks as ReceiptJwks;
  const sources: DashboardSources = {
    store,
    jwks,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.auditLog ? { auditLog: options.auditLog } : {}),
  };
  const title = options.title ?? 'x402-rails receipts';
  const style = DASHBOARD_STYLE;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${style}</style></head><body><main><h1>${escapeHtml(title)}</h1><form id="key-form" class="row"><label for="key">Dashboard key</label><input id="key" type="password" autocomplete="off" required><button type="submit">Open</button></form><div id="app" hidden></div><p id="status" role="status" aria-live="polite"></p></main><script type="application/json" id="${DASHBOARD_CONFIG_ID}">${jsonForScript({ base, title })}</script><script>${DASHBOARD_PAGE_SCRIPT}</script></body></html>`;
  const csp = `default-src 'none'; script-src ${cspHash(DASHBOARD_PAGE_SCRIPT)}; style-src ${cspHash(style)}; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

  async function summary(filters: DashboardFilters): Promise<DashboardSummary> {
    const [receipts, pending, audited] = await Promise.all([
      checkedReceipts(sources, filters),
      pendingOf(store),
      auditOf(options.auditLog),
    ]);
    const everything =
      filters.rail || filters.route || filters.payer || filters.from || filters.to
        ? await checkedReceipts(sources, {})
        : receipts;
    return {
      filters,
      receipts: receipts.map((r) => r.row),
      revenue: revenueOf(receipts),
      pending,
      sessions: sessionsOf(receipts),
      refunds: audited.refunds,
      audit: audited.audit,
      rails: [...new Set(everything.map((r) => r.row.rail))].sort(),
      routes: [...new Set(everything.map((r) => r.row.route))].sort(),
      reconcile: options.reconcile !== undefined,
    };
  }

  async function api(request: Request, path: string, url: URL): Promise<Response> {
    if (!authorized(request.headers.get('authorization'))) {
      return jsonResponse(
        401,
        { error: 'unauthorized', message: 'Send Authorization: Bearer <dashboard key>.' },
        { 'WWW-Authenticate': 'Bearer', 'Cache-Control': 'no-store' },
      );
    }
    const noStore = { 'Cache-Control': 'no-store' };
    if (path === DASHBOARD_API.summary && request.method === 'GET')
      return jsonResponse(200, await summary(filtersOf(url)), noStore);
    if (path === DASHBOARD_API.csv && request.method === 'GET') {
      return new Response(receiptsCsv(await checkedReceipts(sources, filtersOf(url))), {
        headers: {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': 'attachment; filename="receipts.csv"',
          ...noStore,
        },
      });
    }
    if (path === DASHBOARD_API.jsonl && request.method === 'GET') {
      return new Response(receiptsJsonLines(await checkedReceipts(sources, filtersOf(url))), {
        headers: {
          'Content-Type': 'application/x-ndjson',
          'Content-Disposition': 'attachment; filename="receipts.jsonl"',
          ...noStore,
        },
      });
    }
    if (path === DASHBOARD_API.reconcile && request.method === 'POST') {
      if (!options.reconcile)
        return jsonResponse(404, { error: 'not_configured', message: 'This dashboard was given no reconcile action.' });
      return jsonResponse(200, await options.reconcile(), noStore);
    }
    return jsonResponse(404, { error: 'not_found', message: 'No such dashboard call.' });
  }

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== base && url.pathname !== `${base}/` && !url.pathname.startsWith(`${base}/`))
      return jsonResponse(404, { error: 'not_found' });
    const path = url.pathname.slice(base.length) || '/';
    try {
      if (path === '/' && request.method === 'GET') {
        return new Response(html, {
          headers: {
            'Content-Type': 'text/html; charset=utf-8',
            'Content-Security-Policy': csp,
            'X-Content-Type-Options': 'nosniff',
            'Referrer-Policy': 'no-referrer',
            'Cache-Control': 'no-store',
          },
        });
      }
      return await api(request, path, url);
    } catch (error) {
      if (error instanceof X402RailsError) return errorResponse(error);
      throw error;
    }
  };
}
