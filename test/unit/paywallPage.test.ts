/**
 * The paywall page's server side without a browser: content negotiation (agents keep today's 402, the very
 * same Response), the page's headers and size budget, human amounts, and that the inlined bundle is the one
 * `npm run build:pages` makes from the sources.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bundlePage, pageBundles } from '../../scripts/buildPages';
import { createReceiptSigner, defineServerRail, paywall, type Paywall, type ServerRail } from '../../src/index';
import { decodePaymentRequiredHeader } from '../../src/protocol/headers';
import {
  PAGE_EXACT_PROXY_ADDRESS,
  PAGE_PERMIT2_ADDRESS,
  PAGE_UPTO_PROXY_ADDRESS,
} from '../../src/paywall-ui/page/permit2Flow';
import {
  PERMIT2_ADDRESS,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
} from '../../adapters/evm/permit2Abi';
import { formatUnits, offerViews, prefersHtml, withPaywallPage, INVOICE_STATUS_PATH } from '../../src/paywall-ui/index';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
/** The page's budget: at most 60 KB over the wire (gzip), script, style and data included. */
const PAGE_BUDGET_GZIP_BYTES = 60 * 1024;

const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const quotingRail = (id: string, network: string, asset: string, extra: Record<string, unknown> = {}): ServerRail =>
  defineServerRail({
    id,
    supports: () => true,
    paymentId: () => 'id',
    quote: async (offer) => ({
      scheme: 'exact',
      network: network as `${string}:${string}`,
      amount: offer.amount.toString(),
      asset,
      payTo: 'payee',
      maxTimeoutSeconds: 60,
      extra,
    }),
    verify: async () => ({ isValid: false, reason: 'invalid_payload', message: 'no', payer: '' }),
    settle: async () => ({ status: 'failed', reason: 'invalid_payload', message: 'no' }),
  });

async function demoPaywall(): Promise<Paywall> {
  return paywall(
    {
      'GET /report': {
        accepts: [
          { rail: 'evm', amount: 10_000n },
          { rail: 'ln', amount: 21_000n },
        ],
        description: 'The report',
      },
    },
    {
      rails: [
        quotingRail('evm', 'eip155:8453', TOKEN, { name: 'USD Coin', version: '2' }),
        quotingRail('ln', 'bip122:000000000019d6689c085ae165831e93', 'msat', { invoice: 'lnbc1', macaroon: 'AgE' }),
      ],
      signer: await createReceiptSigner(),
      issuer: 'https://api.example.com',
    },
  );
}

const served = () => new Response('paid');

describe('paywall page: negotiation', () => {
  it('a browser navigation prefers HTML; fetch(), curl, agents and JSON clients do not', () => {
    expect(prefersHtml(BROWSER_ACCEPT)).toBe(true);
    expect(prefersHtml('text/html')).toBe(true);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml(null)).toBe(false);
    expect(prefersHtml('application/json')).toBe(false);
    expect(prefersHtml('application/json, text/html;q=0.5')).toBe(false);
    expect(prefersHtml('text/html;q=0.5, application/json')).toBe(false);
    expect(prefersHtml('text/html;q=0')).toBe(false);
  });

  it('non-HTML requests get exactly the paywall’s 402: the same Response object, untouched', async () => {
    const sentinel = new Response('{"x402Version":2}', { status: 402, headers: { 'PAYMENT-REQUIRED': 'e30=' } });
    const inner: Paywall = { ...(await demoPaywall()), handle: async () => sentinel, wrap: () => async () => sentinel };
    const page = withPaywallPage(inner);
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/plain, */*']) {
      const request = new Request(
        'https://api.example.com/report',
        accept === undefined ? {} : { headers: { Accept: accept } },
      );
      expect(await page.handle(request, served)).toBe(sentinel);
      expect(await page.wrap(served)(request)).toBe(sentinel);
    }
  });

  it('on a real paywall, a JSON client’s 402 is the JSON challenge, identical to the header; a browser’s is the page with the same challenge headers', async () => {
    const page = withPaywallPage(await demoPaywall(), {
      assets: { [TOKEN.toLowerCase()]: { symbol: 'USDC', decimals: 6 } },
      theme: { title: 'Report <Pro>' },
    });
    const json = await page.handle(
      new Request('https://api.example.com/report', { headers: { Accept: 'application/json' } }),
      served,
    );
    expect(json.status).toBe(402);
    expect(json.headers.get('Content-Type')).toBe('application/json');
    expect(await json.json()).toEqual(decodePaymentRequiredHeader(json.headers.get('PAYMENT-REQUIRED') ?? ''));

    const html = await page.handle(
      new Request('https://api.example.com/report', { headers: { Accept: BROWSER_ACCEPT } }),
      served,
    );
    expect(html.status).toBe(402);
    expect(html.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('Cache-Control')).toBe('no-store');
    expect(html.headers.get('Vary')).toBe('Accept');
    const challenge = decodePaymentRequiredHeader(html.headers.get('PAYMENT-REQUIRED') ?? '');
    expect(challenge.accepts.map((a) => a.network)).toEqual(['eip155:8453', 'bip122:000000000019d6689c085ae165831e93']);
    const csp = html.headers.get('Content-Security-Policy') ?? '';
    expect(csp).toMatch(/default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
    const body = await html.text();
    expect(body).toContain('<title>Report &#60;Pro&#62;</title>');
    expect(body).toContain('0.01 USDC');
    expect(body).toContain('USDC on Base');
    expect(body).toContain('21 sat');
    // Without an invoice status source the Lightning offer is listed, not payable from the page.
    expect(body).toContain('pay with an L402 client');
    expect(body).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https:\/\/cdn/);
  });

  it('the page stays within its size budget (≤ 60 KB gzipped, everything inline)', async () => {
    const page = withPaywallPage(await demoPaywall());
    const body = await (
      await page.handle(new Request('https://api.example.com/report', { headers: { Accept: BROWSER_ACCEPT } }), served)
    ).text();
    const gzipped = gzipSync(body).length;
    expect(gzipped).toBeLessThanOrEqual(PAGE_BUDGET_GZIP_BYTES);
    expect(gzipped).toBeGreaterThan(5_000); // the bundle is in it
  });

  it('the invoice status endpoint: 404 without a source, 405 for GET, 400 for a malformed body', async () => {
    const bare = withPaywallPage(await demoPaywall());
    expect(
      (
        await bare.handle(
          new Request(`https://api.example.com${INVOICE_STATUS_PATH}`, { method: 'POST', body: '{}' }),
          served,
        )
      ).status,
    ).toBe(404);
    const page = withPaywallPage(await demoPaywall(), {
      invoiceStatus: { invoiceStatus: async () => ({ state: 'open' }) },
    });
    expect(page.covers('POST', INVOICE_STATUS_PATH)).toBe(true);
    expect((await page.handle(new Request(`https://api.example.com${INVOICE_STATUS_PATH}`), served)).status).toBe(405);
    expect(
      (
        await page.handle(
          new Request(`https://api.example.com${INVOICE_STATUS_PATH}`, { method: 'POST', body: 'nope' }),
          served,
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await page.handle(
          new Request(`https://api.example.com${INVOICE_STATUS_PATH}`, { method: 'POST', body: '{"macaroon":5}' }),
          served,
        )
      ).status,
    ).toBe(400);
    const open = await page.wrap(served)(
      new Request(`https://api.example.com${INVOICE_STATUS_PATH}`, { method: 'POST', body: '{"macaroon":"AgE"}' }),
    );
    expect(await open.json()).toEqual({ state: 'open' });
  });
});

describe('paywall page: amounts and bundle', () => {
  it('formats atomic amounts exactly', () => {
    expect(formatUnits('10000', 6)).toBe('0.01');
    expect(formatUnits('1500000', 6)).toBe('1.5');
    expect(formatUnits('1', 18)).toBe('0.000000000000000001');
    expect(formatUnits('21000', 3)).toBe('21');
    expect(formatUnits('21500', 3)).toBe('21.5');
    expect(formatUnits('0', 6)).toBe('0');
    expect(formatUnits('123', 0)).toBe('123');
  });

  it('names offers the page cannot pay and says why', () => {
    const views = offerViews(
      [
        {
          scheme: 'exact',
          network: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp',
          amount: '5',
          asset: 'Mint1',
          payTo: 'p',
          maxTimeoutSeconds: 60,
          extra: { feePayer: 'f' },
        },
        {
          scheme: 'exact',
          network: 'eip155:1',
          amount: '5',
          asset: TOKEN,
          payTo: 'p',
          maxTimeoutSeconds: 60,
          extra: { assetTransferMethod: 'eip2612' },
        },
      ],
      { lightningStatus: false },
    );
    expect(views.map((v) => v.flow)).toEqual(['none', 'none']);
    expect(views[0]?.note).toMatch(/no Solana RPC endpoint/);
    expect(views[0]?.amountText).toBe('5 units of Mint1');
    expect(views[1]?.title).toMatch(/\(permit\)$/);
  });

  it('pays Permit2 and upto offers from the page (upto shown as "up to" the maximum); an upto offer naming no facilitator is not', () => {
    const base = { network: 'eip155:1' as const, amount: '50000', asset: TOKEN, payTo: 'p', maxTimeoutSeconds: 60 };
    const views = offerViews(
      [
        { ...base, scheme: 'exact', extra: { assetTransferMethod: 'permit2', name: 'USD Coin', version: '2' } },
        { ...base, scheme: 'upto', extra: { assetTransferMethod: 'permit2', facilitatorAddress: '0xf' } },
        { ...base, scheme: 'upto', extra: { assetTransferMethod: 'permit2' } },
      ],
      { lightningStatus: false, assets: { [TOKEN]: { symbol: 'USDC', decimals: 6 } } },
    );
    expect(views.map((v) => v.flow)).toEqual(['evm-permit2', 'evm-upto', 'none']);
    expect(views.map((v) => v.amountText)).toEqual(['0.05 USDC', 'up to 0.05 USDC', 'up to 0.05 USDC']);
    expect(views[0]?.title).toMatch(/\(Permit2\)$/);
  });

  it('the page signs for the canonical Permit2 and x402 proxy addresses the EVM rails use', () => {
    expect(PAGE_PERMIT2_ADDRESS).toBe(PERMIT2_ADDRESS);
    expect(PAGE_EXACT_PROXY_ADDRESS).toBe(X402_EXACT_PERMIT2_PROXY_ADDRESS);
    expect(PAGE_UPTO_PROXY_ADDRESS).toBe(X402_UPTO_PERMIT2_PROXY_ADDRESS);
  });

  it('the inlined page scripts are what `npm run build:pages` makes from the sources', async () => {
    for (const b of pageBundles)
      expect(readFileSync(b.out, 'utf8'), `${b.out} is stale: run npm run build:pages`).toBe(
        await bundlePage(b.entry, b.name),
      );
  });
});
