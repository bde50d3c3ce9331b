// A paid route on Hono: 0.01 rUSD per GET /report, settled on chain by the server's gas account.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createReceiptSigner } from 'x402-rails';
import { evmEip3009Server } from 'x402-rails/evm';
import { honoPaywall } from 'x402-rails/hono';
import { evm, issuer, port } from './evmSettings';

const app = new Hono();
app.use(
  honoPaywall(
    { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }], description: 'Daily report' } },
    {
      rails: [evmEip3009Server(evm)],
      signer: await createReceiptSigner(), // a fresh key per start; pass { privateJwk } to keep one
      issuer,
    },
  ),
);
app.get('/report', (c) => c.json({ report: 'paid content' }));

serve({ fetch: app.fetch, port }, () => console.log(`listening on ${issuer}`));
