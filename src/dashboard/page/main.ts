/**
 * The dashboard page script (bundled and inlined by `npm run build:pages`): asks for the bearer key, reads the
 * summary API with the filters, and renders receipts (verified or flagged), the revenue chart as inline SVG,
 * pending settlements with the reconcile action, metering sessions, refunds, the audit check and the exports.
 */
import { DASHBOARD_API, DASHBOARD_CONFIG_ID, type DashboardSummary, type RevenuePoint } from '../dashboardData';

const config = JSON.parse(document.getElementById(DASHBOARD_CONFIG_ID)?.textContent ?? '{}') as {
  base: string;
  title: string;
};
const app = document.getElementById('app') as HTMLElement;
const statusLine = document.getElementById('status') as HTMLElement;
const keyForm = document.getElementById('key-form') as HTMLFormElement;
const keyInput = document.getElementById('key') as HTMLInputElement;
const KEY_STORAGE = 'x402-dashboard-key';
const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c', '#0e7490'];

type Child = Node | string;
function el(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
function svg(tag: string, attrs: Record<string, string | number>, ...children: Child[]): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}
function table(
  headers: string[],
  rows: Child[][],
  rowAttrs: (i: number) => Record<string, string> = () => ({}),
): HTMLElement {
  if (rows.length === 0) return el('p', {}, 'None.');
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))),
    el(
      'tbody',
      {},
      ...rows.map((cells, i) =>
        el(
          'tr',
          rowAttrs(i),
          ...cells.map((c) => el('td', typeof c === 'string' && c.length > 24 ? { class: 'mono' } : {}, c)),
        ),
      ),
    ),
  );
}

let key = sessionStorage.getItem(KEY_STORAGE) ?? '';
let filters = new URLSearchParams(location.search);

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${config.base}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' },
  });
  if (res.status === 401) {
    sessionStorage.removeItem(KEY_STORAGE);
    app.hidden = true;
    keyForm.hidden = false;
    throw new Error('That key was refused. Enter the dashboard key.');
  }
  if (!res.ok) throw new Error(`The dashboard API answered ${res.status}.`);
  return res;
}

function chart(points: RevenuePoint[]): Element {
  if (points.length === 0) return el('p', {}, 'No revenue in this range.');
  const days = [...new Set(points.map((p) => p.day))].sort();
  const rails = [...new Set(points.map((p) => p.rail))].sort();
  const width = 720;
  const height = 220;
  const left = 40;
  const bottom = 30;
  const groupWidth = (width - left) / days.length;
  const barWidth = Math.max(4, Math.min(28, (groupWidth - 8) / rails.length));
  const figure = svg(
    'svg',
    { viewBox: `0 0 ${width} ${height + 30}`, width: '100%', role: 'img', 'aria-labelledby': 'chart-title' },
    svg(
      'title',
      { id: 'chart-title' },
      'Revenue per rail per day (each rail scaled to its own largest day, atomic units in the labels)',
    ),
  );
  rails.forEach((rail, r) => {
    const perDay = new Map<string, bigint>();
    for (const p of points) if (p.rail === rail) perDay.set(p.day, (perDay.get(p.day) ?? 0n) + BigInt(p.amount));
    const max = [...perDay.values()].reduce((a, b) => (b > a ? b : a), 1n);
    days.forEach((day, d) => {
      const amount = perDay.get(day) ?? 0n;
      const h = (Number((amount * 1000n) / max) / 1000) * (height - bottom - 10);
      const x = left + d * groupWidth + 4 + r * barWidth;
      figure.append(
        svg(
          'rect',
          {
            x,
            y: height - bottom - h,
            width: barWidth - 2,
            height: h,
            fill: COLORS[r % COLORS.length] ?? '#1d4ed8',
            'data-rail': rail,
            'data-day': day,
          },
          svg('title', {}, `${rail} on ${day}: ${amount}`),
        ),
      );
    });
    figure.append(
      svg('rect', {
        x: left + r * 150,
        y: height + 8,
        width: 12,
        height: 12,
        fill: COLORS[r % COLORS.length] ?? '#1d4ed8',
      }),
      svg('text', { x: left + r * 150 + 16, y: height + 18 }, rail),
    );
  });
  days.forEach((day, d) => figure.append(svg('text', { x: left + d * groupWidth + 4, y: height - bottom + 14 }, day)));
  figure.append(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: '#9ca3af' }));
  return figure;
}

function filterForm(s: DashboardSummary): HTMLElement {
  const select = (name: string, options: string[]) => {
    const current = filters.get(name) ?? '';
    return el(
      'select',
      { name, id: `f-${name}` },
      el('option', { value: '' }, 'all'),
      ...options.map((o) => el('option', o === current ? { value: o, selected: '' } : { value: o }, o)),
    );
  };
  const input = (name: string, type: string) =>
    el('input', { name, id: `f-${name}`, type, value: filters.get(name) ?? '' });
  const form = el(
    'form',
    { class: 'row', id: 'filters', 'aria-label': 'Filters' },
    el('label', {}, 'Rail', select('rail', s.rails)),
    el('label', {}, 'Route', select('route', s.routes)),
    el('label', {}, 'Payer', input('payer', 'text')),
    el('label', {}, 'From', input('from', 'date')),
    el('label', {}, 'To (exclusive)', input('to', 'date')),
    el('button', { type: 'submit', id: 'apply' }, 'Apply'),
  ) as HTMLFormElement;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filters = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v !== '') filters.set(k, v);
    history.replaceState(null, '', `?${filters}`);
    void load();
  });
  return form;
}

function exportButton(label: string, path: string, filename: string): HTMLElement {
  const button = el('button', { type: 'button' }, label);
  button.addEventListener('click', () => {
    void call(`${path}?${filters}`)
      .then((res) => res.blob())
      .then((blob) => {
        const a = el('a', { href: URL.createObjectURL(blob), download: filename });
        a.click();
        statusLine.textContent = `Exported ${filename}.`;
      })
      .catch((error: unknown) => (statusLine.textContent = String(error instanceof Error ? error.message : error)));
  });
  return button;
}

function render(s: DashboardSummary): void {
  const flagged = s.receipts.filter((r) => !r.verified).length;
  const audit = !s.audit.configured
    ? 'No audit log configured.'
    : s.audit.ok
      ? `Audit log chain intact: ${s.audit.entries} entries checked end to end.`
      : `Audit log chain BROKEN at entry ${s.audit.seq}: ${s.audit.problem}.`;
  const reconcile = el('button', { type: 'button', id: 'reconcile' }, 'Reconcile pending settlements');
  reconcile.addEventListener('click', () => {
    void call(DASHBOARD_API.reconcile, { method: 'POST' })
      .then((res) => res.json() as Promise<{ settled: string[]; failed: string[]; pending: unknown[] }>)
      .then((report) => {
        statusLine.textContent = `Reconciled: ${report.settled.length} settled, ${report.failed.length} failed, ${report.pending.length} still pending.`;
        return load(false);
      })
      .catch((error: unknown) => (statusLine.textContent = String(error instanceof Error ? error.message : error)));
  });
  // A re-render must not drop a keyboard user's focus (Apply, Reconcile): it goes back to the same control.
  const focused = document.activeElement;
  const focusedId = focused instanceof HTMLElement && app.contains(focused) ? focused.id : '';
  app.replaceChildren(
    filterForm(s),
    el(
      'div',
      { class: 'cards' },
      el('div', { class: 'card', id: 'count' }, `${s.receipts.length} receipts`),
      el('div', { class: 'card ok', id: 'verified-count' }, `${s.receipts.length - flagged} verified`),
      el('div', { class: flagged ? 'card bad' : 'card', id: 'flagged-count' }, `${flagged} failed verification`),
      el('div', { class: s.audit.configured && !s.audit.ok ? 'card bad' : 'card', id: 'audit' }, audit),
    ),
    el('h2', {}, 'Revenue per rail and day'),
    chart(s.revenue),
    table(
      ['Day', 'Rail', 'Route', 'Asset', 'Amount'],
      s.revenue.map((p) => [p.day, p.rail, p.route, p.asset, p.amount]),
    ),
    el('h2', {}, 'Receipts'),
    el(
      'div',
      { class: 'row' },
      exportButton('Export CSV', DASHBOARD_API.csv, 'receipts.csv'),
      exportButton('Export JSON lines', DASHBOARD_API.jsonl, 'receipts.jsonl'),
    ),
    table(
      ['Settled', 'Rail', 'Route', 'Amount', 'Payer', 'Reference', 'Signature'],
      s.receipts.map((r) => [
        r.settledAt.replace('T', ' ').slice(0, 19),
        r.rail,
        r.route,
        r.amount,
        r.payer || '(node)',
        r.reference,
        r.verified
          ? el('span', { class: 'ok' }, '✓ verified')
          : el('span', { class: 'bad' }, `✗ ${r.problem ?? 'not verified'}`),
      ]),
      (i) => ({
        'data-payment': s.receipts[i]?.paymentId ?? '',
        ...(s.receipts[i]?.verified ? {} : { class: 'tampered' }),
      }),
    ),
    el('h2', {}, 'Pending settlements'),
    table(
      ['Payment', 'Rail', 'Reference', 'Since'],
      s.pending.map((p) => [p.paymentId, p.rail, p.reference, p.since]),
    ),
    ...(s.reconcile ? [reconcile] : []),
    el('h2', {}, 'Metering sessions'),
    table(
      ['Session', 'Rail', 'Authorized', 'Used', 'Remaining', 'Calls', 'Closed', 'Refund'],
      s.sessions.map((m) => [
        m.session,
        m.rail,
        m.authorized,
        m.used,
        m.remaining,
        String(m.calls),
        m.final ? 'yes' : 'no',
        m.refund ?? '',
      ]),
    ),
    el('h2', {}, 'Refunds'),
    table(
      ['At', 'Payment', 'Rail', 'Amount', 'Outcome'],
      s.refunds.map((r) => [r.at, r.paymentId, r.rail, r.amount, `${r.outcome}${r.reason ? ` (${r.reason})` : ''}`]),
    ),
  );
  if (focusedId) document.getElementById(focusedId)?.focus();
}

async function load(announce = true): Promise<void> {
  try {
    if (announce) statusLine.textContent = 'Loading…';
    const s = (await (await call(`${DASHBOARD_API.summary}?${filters}`)).json()) as DashboardSummary;
    keyForm.hidden = true;
    app.hidden = false;
    render(s);
    if (announce)
      statusLine.textContent = `${s.receipts.length} receipts loaded, each re-verified against the issuer's keys.`;
  } catch (error) {
    statusLine.textContent = error instanceof Error ? error.message : String(error);
  }
}

keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  key = keyInput.value;
  sessionStorage.setItem(KEY_STORAGE, key);
  void load();
});
if (key) void load();
else keyInput.focus();
