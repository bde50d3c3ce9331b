// A Next.js route handler (app/report/route.ts), or any Fetch-API runtime: paywall().wrap() around the handler.
// Re-export GET from app/.well-known/x402-rails/jwks.json/route.ts too: the wrapped handler serves the receipt key.
import { createReceiptSigner, paywall } from 'x402-rails';
import { evmEip3009Server } from 'x402-rails/evm';
import { evm, issuer } from './evmSettings';

const pw = paywall(
  { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }], description: 'Daily report' } },
  { rails: [evmEip3009Server(evm)], signer: await createReceiptSigner(), issuer },
);

export const GET = pw.wrap(async () => Response.json({ report: 'paid content' }));
