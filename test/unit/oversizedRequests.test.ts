/**
 * Oversized payment headers and bodies are refused early — before the body is read — by the Fetch-API
 * paywall and by each binding (Hono in-process; node:http and Express over a real socket, where the client
 * declares a huge body and never sends it, so only an early answer can arrive).
 */
import express from 'express';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import type { AuthorizationRail } from '../../src/core/rail';
import { MAX_HEADER_BYTES } from '../../src/protocol/jsonCodec';
import { L402_MAX_HEADER_LENGTH } from '../../src/protocol/l402';
import { expressPaywall } from '../../src/server/express';
import { honoPaywall } from '../../src/server/hono';
import { serveFetch } from '../../src/server/node';
import { paywall, type Paywall } from '../../src/server/paywall';
import type { RoutesConfig } from '../../src/server/routes';
import { createFakeLedger, fakeRail } from './support/fakeRail';
import { requestHead, statusOfHead } from '../support/rawHttp';
import { listenOnFreePort } from '../support/listen';

const routes: RoutesConfig = {
  'POST /paid': { accepts: [{ rail: 'fake-exact', amount: 25n }] },
  'POST /token': { accepts: [{ rail: 'fake-token', amount: 25n }] },
};
const ORIGIN = 'http://shop.test';
const TEN_MIB = 10 * 1024 * 1024;

/** A paywall over the fake rail, plus a rail that reads `Authorization: Fake …` like the L402 rail does. */
async function oversizePaywall(): Promise<Paywall> {
  const ledger = createFakeLedger();
  const tokenRail: AuthorizationRail = {
    ...fakeRail({ ledger, id: 'fake-token', network: 'fakenet:2' }),
    authorizationSchemes: ['Fake'],
    readAuthorization: async () => ({ reason: 'invalid_token', message: 'never valid' }),
  };
  return paywall(routes, {
    rails: [fakeRail({ ledger }), tokenRail],
    signer: await createReceiptSigner(),
    maxBodyBytes: 64 * 1024,
  });
}

/** A request body that counts how many chunks anyone pulled from it. */
function countedBody(): { body: ReadableStream<Uint8Array>; pulls: () => number } {
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(1024));
        if (pulls > 10) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return { body, pulls: () => pulls };
}

const post = (path: string, headers: Record<string, string>, body: ReadableStream<Uint8Array>) =>
  new Request(`${ORIGIN}${path}`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

describe('the paywall refuses oversized payment headers before reading the body', () => {
  it('PAYMENT-SIGNATURE over its bound → 400 PROTOCOL__HEADER__TOO_LARGE, body untouched', async () => {
    const pw = await oversizePaywall();
    const { body, pulls } = countedBody();
    const res = await pw.handle(
      post('/paid', { 'PAYMENT-SIGNATURE': 'A'.repeat(MAX_HEADER_BYTES + 4) }, body),
      () => new Response('served'),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: 'PROTOCOL__HEADER__TOO_LARGE',
      message: expect.stringContaining('PAYMENT-SIGNATURE'),
    });
    expect(pulls()).toBe(0);
  });

  it("a rail's Authorization scheme over its bound → 400, body untouched; another scheme is not the paywall's business", async () => {
    const pw = await oversizePaywall();
    const huge = 'x'.repeat(L402_MAX_HEADER_LENGTH + 1);
    const counted = countedBody();
    const res = await pw.handle(
      post('/token', { Authorization: `Fake ${huge}` }, counted.body),
      () => new Response('served'),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'PROTOCOL__HEADER__TOO_LARGE' });
    expect(counted.pulls()).toBe(0);
    const other = await pw.handle(
      post('/token', { Authorization: `Bearer ${huge}` }, countedBody().body),
      () => new Response('served'),
    );
    expect(other.status).toBe(402);
  });

  it('a declared body over maxBodyBytes → 413 before a byte is read; an undeclared one is cut at the limit', async () => {
    const pw = await oversizePaywall();
    const declared = countedBody();
    const res = await pw.handle(
      post('/paid', { 'Content-Length': String(TEN_MIB) }, declared.body),
      () => new Response('served'),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PROTOCOL__BODY__TOO_LARGE' });
    expect(declared.pulls()).toBe(0);
    let chunks = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull: (c) => void (chunks++, c.enqueue(new Uint8Array(16 * 1024))),
    });
    expect((await pw.handle(post('/paid', {}, endless), () => new Response('served'))).status).toBe(413);
    expect(chunks).toBeLessThan(16);
  });

  it('Hono: the same refusals through the middleware', async () => {
    const app = new Hono();
    app.use(honoPaywall(await oversizePaywall()));
    app.post('/paid', (c) => c.text('served'));
    const big = countedBody();
    expect((await app.fetch(post('/paid', { 'Content-Length': String(TEN_MIB) }, big.body))).status).toBe(413);
    expect(big.pulls()).toBe(0);
    const header = countedBody();
    expect(
      (await app.fetch(post('/paid', { 'PAYMENT-SIGNATURE': 'A'.repeat(MAX_HEADER_BYTES + 4) }, header.body))).status,
    ).toBe(400);
    expect(header.pulls()).toBe(0);
  });
});

describe('bindings on a real socket answer a huge declared body without waiting for it', () => {
  it('node:http (serveFetch): 413 for a 10 MiB Content-Length, 431 for headers over node’s limit', async () => {
    const pw = await oversizePaywall();
    const server = await serveFetch(pw.wrap(() => new Response('served')));
    closers.push(server.close);
    expect(await statusOfHead(server.url, requestHead('POST', '/paid', { 'Content-Length': TEN_MIB }))).toBe(413);
    expect(
      await statusOfHead(
        server.url,
        requestHead('POST', '/paid', { 'Content-Length': 10, 'PAYMENT-SIGNATURE': 'A'.repeat(20_000) }),
      ),
    ).toBe(431);
  });

  it('Express without a body parser: 413 for a 10 MiB Content-Length on a paid route, before reading', async () => {
    const app = express();
    app.use(expressPaywall(await oversizePaywall()));
    app.post('/paid', (_req, res) => res.send('served'));
    const { url, close } = await listenOnFreePort(app);
    closers.push(close);
    expect(await statusOfHead(url, requestHead('POST', '/paid', { 'Content-Length': TEN_MIB }))).toBe(413);
  });
});
