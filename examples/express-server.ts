// The same paid route on Express.
import express from 'express';
import { createReceiptSigner } from 'x402-rails';
import { evmEip3009Server } from 'x402-rails/evm';
import { expressPaywall } from 'x402-rails/express';
import { evm, issuer, port } from './evmSettings';

const app = express();
app.use(
  expressPaywall(
    { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }], description: 'Daily report' } },
    { rails: [evmEip3009Server(evm)], signer: await createReceiptSigner(), issuer },
  ),
);
app.get('/report', (_req, res) => {
  res.json({ report: 'paid content' });
});

app.listen(port, () => console.log(`listening on ${issuer}`));
