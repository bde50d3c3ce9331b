/**
 * Attack (#12, same class as finding 7): taking over a dead attempt's claim for ANOTHER request. The payer's
 * attempt for request A (POST /order, body "A") died after its transfer landed, leaving its claim in flight.
 * Someone holding the PAYMENT-SIGNATURE presents it for request B (same route, body "B") once the lease ran out.
 * Before the fix the takeover found the landed transfer and served B with a receipt for B: the payment bought
 * B's service, and the payer's own retry of A was refused as "already used".
 *
 * Guarantee: a settlement found on a takeover belongs to the request the dead attempt was serving. B gets 402
 * `payment_already_used` without reaching the handler; the claim is left to be taken over at once, and the
 * payer's retry of A is served with A's receipt. On anvil: payee + exactly 1 price, one handler run (A).
 */
import { encodeFunctionData, parseSignature } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Eip3009PayloadSchema, exactTokenAbi } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import {
  createMemoryPaymentStore,
  decodePaymentSignatureHeader,
  hashCanonical,
  sha256Base64Url,
} from '../../src/index';
import { PRICE } from '../support/evmHarness';
import { flowPaywall, offerOf, paymentHeader, reasonOf, receiptIn, payerPayeeBalances } from './support/evmFlow';

const URL_ = 'http://shop.test/order';
const routes = { 'POST /order': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => payerPayeeBalances(devnet);

describe('a dead claim taken over for another request (EIP-3009 on anvil)', () => {
  it("the landed payment serves the dead attempt's own request only: B is refused, A's retry gets A's receipt", async () => {
    const served: string[] = [];
    const store = createMemoryPaymentStore();
    const { fetch, rail } = await flowPaywall(
      devnet,
      routes,
      async (request) => {
        const body = await request.text();
        served.push(body);
        return Response.json({ body });
      },
      { store, settleLeaseMs: 60_000 },
    );
    const start = await balances();
    const header = await paymentHeader(devnet, await offerOf(fetch, URL_, { method: 'POST', body: 'A' }), URL_);
    const { accepted, payload } = decodePaymentSignatureHeader(header);

    // A's attempt claimed the payment, broadcast its transfer (it landed) and died: its claim is left in flight.
    const bindingA = { method: 'POST', url: URL_, bodyHash: sha256Base64Url('A') };
    await store.claim(`${rail.id}:${rail.paymentId(payload, accepted)}`, hashCanonical(bindingA), 1);
    const { authorization: a, signature } = Eip3009PayloadSchema.parse(payload);
    const { v, r, s } = parseSignature(signature);
    const data = encodeFunctionData({
      abi: exactTokenAbi,
      functionName: 'transferWithAuthorization',
      args: [a.from, a.to, BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce, Number(v), r, s],
    });
    const hash = await devnet.walletClientFor('facilitator').sendTransaction({ to: devnet.token.address, data });
    expect((await devnet.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
    await new Promise((resolve) => setTimeout(resolve, 20)); // the dead claim's lease runs out

    const b = await fetch(URL_, { method: 'POST', body: 'B', headers: { 'PAYMENT-SIGNATURE': header } });
    expect(b.status).toBe(402);
    expect(await reasonOf(b)).toBe('payment_already_used');
    expect(served).toEqual([]);

    const retryA = await fetch(URL_, { method: 'POST', body: 'A', headers: { 'PAYMENT-SIGNATURE': header } });
    expect(retryA.status).toBe(200);
    expect(await retryA.json()).toEqual({ body: 'A' });
    const receipt = receiptIn(retryA);
    expect(receipt).toMatchObject({
      reference: hash,
      request: { method: 'POST', url: URL_, bodyHash: bindingA.bodyHash },
    });
    expect(served).toEqual(['A']);
    expect(await balances()).toEqual({ payer: start.payer - PRICE, payee: start.payee + PRICE });
  });
});
