import type { PaymentRequired } from '../protocol/schemas';
import { cspHash, cssColor, escapeHtml, jsonForScript, safeImageUrl } from './html';
import { PAGE_DATA_ID, type OfferView, type PageData, type PaywallTheme } from './pageData';
import { PAYWALL_PAGE_SCRIPT } from './pageScript.generated';
import { PAYWALL_PAGE_STYLE } from './pageStyle';

/** Parameters of {@link renderPaywallPage}. */
export type RenderPaywallPageParameters = {
  paymentRequired: PaymentRequired;
  offers: OfferView[];
  theme: PaywallTheme;
  method: string;
  url: string;
  jwksUrl: string;
  invoiceStatusUrl?: string;
  /** Origins the page script may call besides its own (Solana RPC endpoints). */
  connectOrigins: string[];
  now: number;
};

/** Return type of {@link renderPaywallPage}: the document and the Content-Security-Policy that fits it. */
export type RenderPaywallPageReturnType = { html: string; contentSecurityPolicy: string };

/**
 * The self-contained paywall page: the offers rendered in HTML (readable without script), the challenge as
 * embedded JSON, one inline style and one inline script (the bundled page, no CDN), allowed by hash in a
 * strict Content-Security-Policy (no other script, no frames, connections to this origin and the configured
 * RPC endpoints only).
 *
 * @example const { html, contentSecurityPolicy } = renderPaywallPage({ paymentRequired, offers, theme, method: 'GET', url, jwksUrl, connectOrigins: [], now: Date.now() });
 */
export function renderPaywallPage(p: RenderPaywallPageParameters): RenderPaywallPageReturnType {
  const title = p.theme.title ?? 'Payment required';
  const description = p.theme.description ?? p.paymentRequired.resource.description;
  const logo = safeImageUrl(p.theme.logoUrl);
  const c = p.theme.colors ?? {};
  const style = `:root{--accent:${cssColor(c.accent, '#1d4ed8')};--accent-text:${cssColor(c.accentText, '#ffffff')};--bg:${cssColor(c.background, '#f6f7f9')};--surface:${cssColor(c.surface, '#ffffff')};--text:${cssColor(c.text, '#111827')};--muted:${cssColor(c.muted, '#4b5563')}}${PAYWALL_PAGE_STYLE}`;
  const data: PageData = {
    paymentRequired: p.paymentRequired,
    offers: p.offers,
    method: p.method,
    url: p.url,
    jwksUrl: p.jwksUrl,
    issuedAt: p.now,
    ...(p.invoiceStatusUrl === undefined ? {} : { invoiceStatusUrl: p.invoiceStatusUrl }),
  };
  const offers = p.offers
    .map(
      (o) =>
        `<li class="offer" data-flow="${o.flow}"><div class="offer-text"><span class="amount">${escapeHtml(o.amountText)}</span><span class="network">${escapeHtml(o.title)}</span>${
          o.note ? `<span class="note">${escapeHtml(o.note)}</span>` : ''
        }</div>${
          o.flow === 'none'
            ? ''
            : `<button type="button" class="pay" data-offer="${o.index}" disabled>Pay ${escapeHtml(o.amountText)} with ${escapeHtml(flowName(o))}</button>`
        }</li>`,
    )
    .join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${style}</style></head><body><main><header>${
    logo ? `<img class="logo" src="${escapeHtml(logo)}" alt="" width="48" height="48">` : ''
  }<div><h1>${escapeHtml(title)}</h1>${description ? `<p class="muted">${escapeHtml(description)}</p>` : ''}<p class="muted">Payment required for <code>${escapeHtml(p.method)} ${escapeHtml(new URL(p.url).pathname)}</code>. Choose how to pay:</p></div></header><ol class="offers" aria-label="Ways to pay">${offers}</ol><section id="lightning" class="panel" hidden aria-labelledby="ln-title"><h2 id="ln-title">Pay the Lightning invoice</h2><div id="ln-qr" class="qr" role="img" aria-label="QR code of the Lightning invoice"></div><label for="ln-invoice">Invoice</label><textarea id="ln-invoice" readonly rows="4"></textarea><button type="button" id="ln-copy">Copy invoice</button><p id="ln-wait" class="muted">Waiting for the payment…</p></section><section id="status" class="status" role="status" aria-live="polite"></section><section id="result" class="panel" hidden aria-labelledby="result-title"><h2 id="result-title" tabindex="-1">Paid</h2><dl id="receipt"></dl><p id="receipt-check"></p><h3>Content</h3><pre id="content" tabindex="0"></pre></section><noscript><p>Paying from this page needs JavaScript; an x402 client can pay any offer above.</p></noscript></main><script type="application/json" id="${PAGE_DATA_ID}">${jsonForScript(data)}</script><script>${PAYWALL_PAGE_SCRIPT}</script></body></html>`;
  const connect = ["'self'", ...p.connectOrigins].join(' ');
  const contentSecurityPolicy = `default-src 'none'; script-src ${cspHash(PAYWALL_PAGE_SCRIPT)}; style-src ${cspHash(style)}; img-src data: https:; connect-src ${connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, contentSecurityPolicy };
}

function flowName(o: OfferView): string {
  switch (o.flow) {
    case 'evm-eip3009':
    case 'evm-upto':
      return 'an Ethereum wallet';
    case 'evm-permit2':
      return 'Permit2 (Ethereum wallet)';
    case 'solana':
      return 'a Solana wallet';
    case 'lightning':
      return 'Lightning';
    case 'none':
      return '';
  }
}
