// A paid route whose payments a facilitator verifies and settles (`npx x402-rails facilitator`, or any x402 v2
// facilitator): the paywall quotes and keys payments locally, the facilitator's gas account submits them.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createReceiptSigner } from 'x402-rails';
import { evmEip3009Server } from 'x402-rails/evm';
import { remoteRail } from 'x402-rails/facilitator';
import { honoPaywall } from 'x402-rails/hono';
import { evm, issuer, port } from './evmSettings';

const local = evmEip3009Server(evm); // its quote, payment id and supports; it never settles here
const settledByFacilitator = remoteRail({
  id: local.id,
  url: process.env.X402_FACILITATOR_URL ?? 'http://127.0.0.1:4020',
  apiKey: process.env.X402_FACILITATOR_API_KEY,
  supports: local.supports,
  quote: local.quote,
  paymentId: local.paymentId,
});

const app = new Hono();
app.use(
  honoPaywall(
    { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }], description: 'Daily report' } },
    { rails: [settledByFacilitator], signer: await createReceiptSigner(), issuer },
  ),
);
app.get('/report', (c) => c.json({ report: 'paid content' }));

serve({ fetch: app.fetch, port }, () => console.log(`listening on ${issuer}`));
