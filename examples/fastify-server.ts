// The paid route on Fastify, through the node:http binding: Fastify leaves the body unread and hands the raw
// request to the paywall, which reads and hashes it itself (the receipt binds it).
import Fastify from 'fastify';
import { createReceiptSigner, paywall } from 'x402-rails';
import { evmEip3009Server } from 'x402-rails/evm';
import { nodeListener } from 'x402-rails/node';
import { evm, issuer, port } from './evmSettings';

const pw = paywall(
  { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }], description: 'Daily report' } },
  { rails: [evmEip3009Server(evm)], signer: await createReceiptSigner(), issuer },
);
const paid = nodeListener(pw, async () => Response.json({ report: 'paid content' }));

const app = Fastify();
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, _payload, done) => done(null));
for (const url of ['/report', '/.well-known/x402-rails/jwks.json'])
  app.all(url, (request, reply) => {
    reply.hijack();
    paid(request.raw, reply.raw);
  });

await app.listen({ port });
console.log(`listening on ${issuer}`);
