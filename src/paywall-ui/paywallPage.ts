import { z } from 'zod';
import { RECEIPT_JWKS_PATH } from '../core/receipt/receipt';
import { X402RailsError } from '../core/errors';
import { decodePaymentRequiredHeader, headerNames } from '../protocol/headers';
import type { FetchHandler, Paywall } from '../server/paywall';
import { errorResponse, jsonResponse } from '../server/responses';
import { compileRouteKey, matchRoute } from '../server/routes';
import { hasInvoiceStatus, type InvoiceStatusSource } from './invoiceStatus';
import { offerViews, type OfferViewOptions } from './offerViews';
import { INVOICE_STATUS_PATH, type AssetDisplay, type PaywallTheme } from './pageData';
import { prefersHtml } from './prefersHtml';
import { renderPaywallPage } from './renderPaywallPage';

/** Options of {@link withPaywallPage}. */
export type PaywallPageOptions = {
  /** Look of every page: title, description, logo, colours. */
  theme?: PaywallTheme;
  /** Per-route look, keyed like the paywall's routes (`'GET /report'`), merged over `theme`. */
  routes?: Record<string, PaywallTheme>;
  /** Symbol and decimals by asset (token address or mint), for human amounts. Lightning is shown in sat. */
  assets?: Record<string, AssetDisplay>;
  /** Names of networks by CAIP-2 id, where the built-in names do not fit. */
  networkNames?: Record<string, string>;
  /** Solana JSON-RPC endpoints by CAIP-2 network, callable from browsers (CORS); without one, Solana offers are listed but not payable here. */
  solanaRpcUrls?: Record<string, string>;
  /** Tells the page when a Lightning invoice was paid: the Lightning server rail (`lightningServer(…)`). */
  invoiceStatus?: InvoiceStatusSource;
  /** Clock, for tests. */
  now?: () => number;
};

const InvoiceStatusRequestSchema = z.object({ macaroon: z.string().min(1).max(8192) });

/**
 * Content negotiation on the 402: a request that prefers HTML (a browser opening a paid URL) gets the paywall
 * page — every offer in the server's order with human amounts, paid from the page with an EIP-1193 wallet
 * (EIP-3009), a Wallet Standard Solana wallet, or a Lightning invoice (QR, copy, polled), then the resource and
 * its receipt verified in the page against the server's JWKS. Everything else gets the paywall's 402
 * unchanged, byte for byte: the page is added on top of a built paywall and changes nothing under it. The
 * status, PAYMENT-REQUIRED, WWW-Authenticate and Cache-Control headers of the 402 are kept on the page.
 *
 * Also serves `POST /.well-known/x402-rails/paywall/invoice-status` (`{macaroon}` → `{state, preimage?}`) when
 * `invoiceStatus` is given: only the holder of the 402's macaroon learns the preimage of a paid invoice.
 *
 * @example
 * const pw = withPaywallPage(paywall(routes, { rails, signer, issuer }), { theme: { title: 'Weather Pro' }, assets: { [usdc]: { symbol: 'USDC', decimals: 6 } }, invoiceStatus: ln });
 * app.use(honoPaywall(pw));
 */
export function withPaywallPage(pw: Paywall, options: PaywallPageOptions = {}): Paywall {
  const themed = Object.entries(options.routes ?? {}).map(([key, theme]) => ({ ...compileRouteKey(key), theme }));
  const invoiceStatus =
    options.invoiceStatus !== undefined && hasInvoiceStatus(options.invoiceStatus) ? options.invoiceStatus : undefined;
  const now = options.now ?? Date.now;
  const viewOptions: OfferViewOptions = {
    ...(options.assets ? { assets: options.assets } : {}),
    ...(options.networkNames ? { networkNames: options.networkNames } : {}),
    ...(options.solanaRpcUrls ? { solanaRpcUrls: options.solanaRpcUrls } : {}),
    lightningStatus: invoiceStatus !== undefined,
  };
  const connectOrigins = [
    ...new Set(Object.values(options.solanaRpcUrls ?? {}).flatMap((u) => (URL.canParse(u) ? [new URL(u).origin] : []))),
  ];

  function page(request: Request, response: Response): Response {
    if (response.status !== 402 || !prefersHtml(request.headers.get('accept'))) return response;
    const header = response.headers.get(headerNames.paymentRequired);
    if (header === null) return response;
    let paymentRequired: ReturnType<typeof decodePaymentRequiredHeader>;
    try {
      paymentRequired = decodePaymentRequiredHeader(header);
    } catch {
      return response;
    }
    const url = new URL(request.url);
    const route = matchRoute(themed, request.method, url.pathname);
    const theme: PaywallTheme = {
      ...options.theme,
      ...route?.theme,
      colors: { ...options.theme?.colors, ...route?.theme.colors },
    };
    const { html, contentSecurityPolicy } = renderPaywallPage({
      paymentRequired,
      offers: offerViews(paymentRequired.accepts, viewOptions),
      theme,
      method: request.method.toUpperCase(),
      url: paymentRequired.resource.url,
      jwksUrl: new URL(RECEIPT_JWKS_PATH, url).href,
      ...(invoiceStatus ? { invoiceStatusUrl: new URL(INVOICE_STATUS_PATH, url).href } : {}),
      connectOrigins,
      now: now(),
    });
    const headers = new Headers(response.headers);
    headers.set('Content-Type', 'text/html; charset=utf-8');
    headers.set('Content-Security-Policy', contentSecurityPolicy);
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('Referrer-Policy', 'no-referrer');
    headers.set('Vary', 'Accept');
    headers.delete('Content-Length');
    void response.body?.cancel();
    return new Response(html, { status: 402, headers });
  }

  async function status(request: Request): Promise<Response> {
    if (!invoiceStatus) return jsonResponse(404, { error: 'not_found' });
    if (request.method !== 'POST')
      return jsonResponse(405, { error: 'method_not_allowed', message: 'POST {"macaroon": "…"}.' }, { Allow: 'POST' });
    let parsed: z.infer<typeof InvoiceStatusRequestSchema>;
    try {
      const text = await request.text();
      if (text.length > 16_384) return jsonResponse(413, { error: 'too_large', message: 'The request is too large.' });
      const result = InvoiceStatusRequestSchema.safeParse(JSON.parse(text));
      if (!result.success)
        return jsonResponse(400, {
          error: 'malformed',
          message: 'Send {"macaroon": "<the L402 macaroon of the 402>"}.',
        });
      parsed = result.data;
    } catch {
      return jsonResponse(400, { error: 'malformed', message: 'The body is not JSON.' });
    }
    try {
      const answer = await invoiceStatus.invoiceStatus(parsed.macaroon, now());
      return jsonResponse(answer.state === 'invalid' ? 403 : 200, answer, { 'Cache-Control': 'no-store' });
    } catch (error) {
      if (error instanceof X402RailsError) return errorResponse(error);
      throw error;
    }
  }

  const isStatus = (request: Request) => new URL(request.url).pathname === INVOICE_STATUS_PATH;
  return {
    ...pw,
    async handle(request: Request, handler: FetchHandler) {
      if (isStatus(request)) return status(request);
      return page(request, await pw.handle(request, handler));
    },
    wrap(handler) {
      const inner = pw.wrap(handler);
      return async (request) => (isStatus(request) ? status(request) : page(request, await inner(request)));
    },
    covers: (method, pathname) => pathname === INVOICE_STATUS_PATH || pw.covers(method, pathname),
  };
}
