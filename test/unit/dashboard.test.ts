/**
 * The dashboard's API without a browser: filters, revenue per day (verified receipts only, metering charges),
 * metering sessions from their receipts, refunds and a broken audit chain from the audit log, the reconcile
 * action, bearer keys, and a CSV export that a spreadsheet cannot turn into a formula.
 */
import { describe, expect, it } from 'vitest';
import { createReceiptSigner, type ReceiptSigner } from '../../src/core/receipt/index';
import type { SignedReceipt } from '../../src/core/receipt/receipt';
import { dashboardHandler, type DashboardSummary } from '../../src/dashboard/index';
import type { AuditLog } from '../../src/risk/auditLog';
import { createMemoryAuditLog } from '../../src/risk/memoryAuditLog';
import { createMemoryPaymentStore } from '../../src/stores/memoryPaymentStore';
import { sampleReceipt } from '../stores/paymentStoreContract';

const KEY = 'unit-dashboard-key-0123456789';
const auth = { headers: { Authorization: `Bearer ${KEY}` } };

async function signed(signer: ReceiptSigner, overrides: Partial<SignedReceipt>): Promise<SignedReceipt> {
  const { signature: _s, ...receipt } = sampleReceipt(overrides);
  return signer.sign(receipt);
}

async function setup(options: { auditLog?: AuditLog; reconcile?: boolean } = {}) {
  const signer = await createReceiptSigner();
  let now = Date.parse('2026-01-01T10:00:00Z');
  const store = createMemoryPaymentStore({ now: () => now });
  const put = async (id: string, receipt: SignedReceipt, at: string) => {
    now = Date.parse(at);
    await store.claim(id, 'req', 10_000);
    await store.settle(id, receipt);
  };
  await put(
    'p1',
    await signed(signer, {
      id: 'r1',
      rail: 'evm-eip3009',
      amount: '1000',
      payer: '0xAAA',
      request: { method: 'GET', url: 'https://api.example.com/report', bodyHash: '' },
      settledAt: '2026-01-01T10:00:00.000Z',
    }),
    '2026-01-01T10:00:00Z',
  );
  await put(
    'p2',
    await signed(signer, {
      id: 'r2',
      rail: 'solana-spl',
      amount: '2000',
      payer: '=HYPERLINK("http://evil")',
      request: { method: 'POST', url: 'https://api.example.com/convert', bodyHash: 'h' },
      settledAt: '2026-01-02T10:00:00.000Z',
    }),
    '2026-01-02T10:00:00Z',
  );
  const meter = (seq: number, charged: string, used: string, final = false) => ({
    session: 'ms_1',
    deposit: 'r0',
    seq,
    authorized: '5000',
    charged,
    used,
    remaining: String(5000 - Number(used)),
    ...(final
      ? { final: true, refund: { amount: String(5000 - Number(used)), status: 'sent' as const, reference: '0xrefund' } }
      : {}),
  });
  await put(
    'p3',
    await signed(signer, {
      id: 'r3',
      rail: 'evm-eip3009',
      amount: '5000',
      metering: meter(1, '300', '300'),
      settledAt: '2026-01-02T11:00:00.000Z',
    }),
    '2026-01-02T11:00:00Z',
  );
  await put(
    'p4',
    await signed(signer, {
      id: 'r4',
      rail: 'evm-eip3009',
      amount: '5000',
      metering: meter(2, '200', '500', true),
      settledAt: '2026-01-02T12:00:00.000Z',
    }),
    '2026-01-02T12:00:00Z',
  );
  const reconciled: string[] = [];
  const handler = dashboardHandler({
    store,
    jwks: signer.jwks(),
    bearerKeys: [KEY],
    ...(options.auditLog ? { auditLog: options.auditLog } : {}),
    ...(options.reconcile
      ? { reconcile: async () => (reconciled.push('run'), { settled: ['x'], failed: [], pending: [], skipped: [] }) }
      : {}),
  });
  const get = (path: string, init: RequestInit = auth) =>
    handler(new Request(`https://ops.example.com/dashboard${path}`, init));
  const summary = async (query = '') => (await (await get(`/api/summary${query}`)).json()) as DashboardSummary;
  return { get, summary, reconciled };
}

describe('dashboard API', () => {
  it('refuses without the key, serves the page without data, 404s outside its base', async () => {
    const { get } = await setup();
    expect((await get('/api/summary', {})).status).toBe(401);
    expect((await get('/api/summary', { headers: { Authorization: 'Bearer nope-nope-nope-nope' } })).status).toBe(401);
    const page = await get('/', {});
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Security-Policy')).toMatch(/^default-src 'none'; script-src 'sha256-/);
    expect(await page.text()).not.toContain('r1');
    expect((await get('/../elsewhere', auth)).status).toBe(404);
    expect(() =>
      dashboardHandler({ store: createMemoryPaymentStore(), jwks: { keys: [] }, bearerKeys: ['short'] }),
    ).toThrow(/16 characters/);
  });

  it('filters by rail, route, payer and time; revenue per day counts metering charges, not deposits', async () => {
    const { summary } = await setup();
    const all = await summary();
    expect(all.receipts.map((r) => r.id)).toEqual(['r4', 'r3', 'r2', 'r1']);
    expect(all.receipts.every((r) => r.verified)).toBe(true);
    expect((await summary('?rail=solana-spl')).receipts.map((r) => r.id)).toEqual(['r2']);
    expect((await summary('?route=POST%20/convert')).receipts.map((r) => r.id)).toEqual(['r2']);
    expect((await summary('?route=/report')).receipts.map((r) => r.id)).toEqual(['r1']);
    expect((await summary('?payer=0xaaa')).receipts.map((r) => r.id)).toEqual(['r1']);
    expect((await summary('?from=2026-01-02&to=2026-01-02T11:30:00Z')).receipts.map((r) => r.id)).toEqual(['r3', 'r2']);
    expect(all.revenue).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ day: '2026-01-01', rail: 'evm-eip3009', amount: '1000' }),
        expect.objectContaining({ day: '2026-01-02', rail: 'solana-spl', amount: '2000' }),
        expect.objectContaining({ day: '2026-01-02', rail: 'evm-eip3009', amount: '500' }),
      ]),
    );
    expect(all.sessions).toEqual([
      {
        session: 'ms_1',
        rail: 'evm-eip3009',
        authorized: '5000',
        used: '500',
        remaining: '4500',
        calls: 2,
        final: true,
        refund: '4500 (sent)',
      },
    ]);
    expect(all.rails).toEqual(['evm-eip3009', 'solana-spl']);
  });

  it('checks the audit chain end to end and lists refunds; an altered entry breaks it at its place', async () => {
    const log = createMemoryAuditLog();
    await log.append({ kind: 'settlement', at: 1, paymentId: 'p1', outcome: 'settled', amount: '1000' });
    await log.append({ kind: 'refund', at: 2, paymentId: 'p3', rail: 'evm-eip3009', amount: '4500', outcome: 'sent' });
    await log.append({ kind: 'settlement', at: 3, paymentId: 'p2', outcome: 'settled', amount: '2000' });
    const intact = await (await setup({ auditLog: log })).summary();
    expect(intact.audit).toEqual({ configured: true, ok: true, entries: 3 });
    expect(intact.refunds).toEqual([
      { at: new Date(2).toISOString(), paymentId: 'p3', rail: 'evm-eip3009', amount: '4500', outcome: 'sent' },
    ]);
    const altered: AuditLog = {
      ...log,
      list: async (q) => (await log.list(q)).map((e) => (e.seq === 2 ? { ...e, amount: '1' } : e)),
    };
    const broken = await (await setup({ auditLog: altered })).summary();
    expect(broken.audit).toMatchObject({ configured: true, ok: false, problem: 'its content does not match its hash' });
  });

  it('reconcile runs the configured action (POST only); without one it is 404', async () => {
    const withAction = await setup({ reconcile: true });
    expect((await withAction.summary()).reconcile).toBe(true);
    expect((await withAction.get('/api/reconcile')).status).toBe(404); // GET is not the action
    const res = await withAction.get('/api/reconcile', { method: 'POST', ...auth });
    expect(await res.json()).toEqual({ settled: ['x'], failed: [], pending: [], skipped: [] });
    expect(withAction.reconciled).toEqual(['run']);
    expect((await (await setup()).get('/api/reconcile', { method: 'POST', ...auth })).status).toBe(404);
  });

  it('exports CSV a spreadsheet reads as text (no formula) and JSON lines of the receipts as stored', async () => {
    const { get } = await setup();
    const csv = await (await get('/api/export.csv')).text();
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(5);
    const lines = (await (await get('/api/export.jsonl?rail=solana-spl')).text()).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as SignedReceipt).id)).toEqual(['r2']);
  });
});
