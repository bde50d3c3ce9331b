/**
 * The Express binding sees the path Express routes: no request target spelling reaches a paid handler unpaid
 * (an absolute-form `GET http://other/paid` is routed to `/paid` by Express), mounted paywalls see the full
 * path, and free routes pass untouched (their bodies are not read or bounded by the paywall).
 */
import express, { type Express } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { expressPaywall } from '../../src/server/express';
import type { RoutesConfig } from '../../src/server/routes';
import { requestHead, statusOfHead } from '../support/rawHttp';
import { listenOnFreePort } from '../support/listen';
import { createFakeLedger, fakeRail } from './support/fakeRail';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function listen(app: Express): Promise<string> {
  const server = await listenOnFreePort(app);
  closers.push(server.close);
  return server.url;
}

async function paywallFor(routes: RoutesConfig) {
  return expressPaywall(routes, {
    rails: [fakeRail({ ledger: createFakeLedger() })],
    signer: await createReceiptSigner(),
  });
}

const GET = (target: string, host = '127.0.0.1') =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

describe('Express binding: the paywall sees the path Express routes', () => {
  it('an absolute-form request target is charged like the origin-form one, never served free', async () => {
    const app = express();
    app.use(await paywallFor({ 'GET /paid': { accepts: [{ rail: 'fake-exact', amount: 5n }] } }));
    app.get('/paid', (_req, res) => res.send('paid content'));
    const url = await listen(app);
    for (const target of [
      '/paid',
      '/PAID/',
      'http://other/paid',
      'http://other:99999/paid?x=1',
      'http://127.0.0.1/paid',
    ]) {
      expect(await statusOfHead(url, GET(target)), target).toBe(402);
    }
    // what Express does not route to /paid is not served by it either
    expect(await statusOfHead(url, GET('//x/paid'))).not.toBe(200);
  });

  it('a mounted paywall matches the full path', async () => {
    const app = express();
    const api = express.Router();
    api.use(await paywallFor({ 'GET /api/paid': { accepts: [{ rail: 'fake-exact', amount: 5n }] } }));
    api.get('/paid', (_req, res) => res.send('paid content'));
    app.use('/api', api);
    const url = await listen(app);
    expect(await statusOfHead(url, GET('/api/paid'))).toBe(402);
    expect(await statusOfHead(url, GET('http://other/api/paid'))).toBe(402);
  });

  it('free routes pass untouched: a 2 MiB upload is neither read nor refused by the paywall', async () => {
    const app = express();
    app.use(await paywallFor({ 'POST /paid': { accepts: [{ rail: 'fake-exact', amount: 5n }] } }));
    app.post('/upload', express.raw({ type: '*/*', limit: '4mb' }), (req, res) =>
      res.json({ bytes: Buffer.isBuffer(req.body) ? req.body.length : -1 }),
    );
    const url = await listen(app);
    const res = await fetch(`${url}/upload`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(2 * 1024 * 1024),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: 2 * 1024 * 1024 });
    // while the paid route still refuses a body over the paywall's raw limit
    expect(await statusOfHead(url, requestHead('POST', '/paid', { 'Content-Length': 2 * 1024 * 1024 }))).toBe(413);
  });
});
