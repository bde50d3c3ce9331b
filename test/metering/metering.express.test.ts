/**
 * Metered usage through the Express binding on a real socket: the Express handler reports its usage with
 * `res.setHeader('X402-Usage', …)`, the client (meteredFetch over the global fetch) never sees that header,
 * verifies each receipt against the JWKS the middleware serves, and closes for its refund.
 */
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { meteredFetch } from '../../src/client/meteredFetch';
import { payingFetch } from '../../src/client/payingFetch';
import { expressPaywall } from '../../src/server/express';
import { listenOnFreePort } from '../support/listen';
import { meteringSetup } from './support';

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

describe('metered usage behind Express, over a socket', () => {
  it('usage reported by an Express handler is drawn, stripped, receipted; the close refunds the rest', async () => {
    const s = await meteringSetup();
    const app = express();
    app.use(expressPaywall(s.pw));
    app.post('/llm', (req, res) => {
      res.setHeader('X402-Usage', req.get('x-units') ?? '0');
      res.json({ answer: 42 });
    });
    const { url, close } = await listenOnFreePort(app);
    closers.push(close);
    const client = meteredFetch({
      pay: payingFetch(fetch, { adapters: [s.rail], wallets: [s.alice], capabilities: false }),
      fetch,
    });
    for (const units of ['30', '70']) {
      const res = await client(`${url}/llm`, {
        method: 'POST',
        headers: { 'x-units': units, 'content-type': 'application/json' },
        body: '{"prompt":"hi"}',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ answer: 42 });
      expect(res.headers.get('X402-Usage')).toBeNull();
    }
    const [held] = client.sessions(new URL(url).origin);
    expect(held?.receiptError).toBeUndefined();
    expect(held?.lastReceipt?.metering).toMatchObject({ seq: 2, used: '200', remaining: '800' });
    const [closed] = await client.close(new URL(url).origin);
    expect(closed?.refund).toEqual({ amount: '800', status: 'sent', reference: 'refund-1' });
    expect(s.ledger.balanceOf('merchant')).toBe(200n);
  });
});
