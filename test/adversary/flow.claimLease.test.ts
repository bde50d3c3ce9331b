/**
 * Attack (#12 finding 7): the claim on a payment outlives its lease under a slow handler. The payer's request
 * A (POST /slow, body "A") holds the claim while its handler runs longer than `settleLeaseMs`; mid-way the same
 * PAYMENT-SIGNATURE is presented for request B (same route, body "B": the challenge binds method and URL, not
 * the body). Before the fix the lease was never renewed: B took the lapsed claim over, verified (nothing had
 * settled yet), and was served too: two 200s for one transfer.
 *
 * Guarantee: the claim is renewed for as long as its attempt lives, so B never reaches the handler (402
 * `payment_already_used`) and A is served and settled once: exactly one 200, payee + 1 price. And when an
 * attempt loses its claim anyway (its renewals could not reach the store for a whole lease and another request
 * took the payment over), it neither settles nor delivers: 409 `claim_lost`, one 200 in all, payee + 1 price.
 * Both on all three stores' shared semantics (memory here; the store contract suite covers SQLite and Redis).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { createMemoryPaymentStore, type PaymentStore } from '../../src/index';
import { PRICE } from '../support/evmHarness';
import { flowPaywall, offerOf, paymentHeader, reasonOf, receiptIn, payerPayeeBalances } from './support/evmFlow';

const URL_ = 'http://shop.test/slow';
const routes = { 'POST /slow': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => payerPayeeBalances(devnet);

/** A handler that takes `ms` for body "A" and answers at once otherwise; records the bodies it served. */
function slowHandler(served: string[], ms: number) {
  return async (request: Request) => {
    const body = await request.text();
    served.push(body);
    if (body === 'A') await sleep(ms);
    return Response.json({ body });
  };
}

describe('a handler slower than the claim lease (EIP-3009 on anvil)', () => {
  it('the same payment presented for another request mid-way never reaches the handler: one 200, payee + 1 price', async () => {
    const served: string[] = [];
    const { fetch } = await flowPaywall(devnet, routes, slowHandler(served, 900), { settleLeaseMs: 200 });
    const start = await balances();
    const header = await paymentHeader(devnet, await offerOf(fetch, URL_, { method: 'POST', body: 'A' }), URL_);

    const a = fetch(URL_, { method: 'POST', body: 'A', headers: { 'PAYMENT-SIGNATURE': header } });
    await sleep(450); // A's first lease (200 ms) is long gone: only its renewals keep it
    const b = await fetch(URL_, { method: 'POST', body: 'B', headers: { 'PAYMENT-SIGNATURE': header } });
    expect(b.status).toBe(402);
    expect(await reasonOf(b)).toBe('payment_already_used');
    const first = await a;
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ body: 'A' });
    expect(receiptIn(first)?.request.bodyHash).toBeDefined();

    expect(served).toEqual(['A']);
    expect(await balances()).toEqual({ payer: start.payer - PRICE, payee: start.payee + PRICE });
  });

  it('an attempt whose claim was taken over while its renewals failed answers 409 claim_lost: it neither settles nor delivers', async () => {
    const served: string[] = [];
    const shared = createMemoryPaymentStore();
    // Instance 1 cannot renew (its link to the store is down for renewals); instance 2 is healthy.
    const cutOff: PaymentStore = {
      ...shared,
      renew: async () => {
        throw new Error('store unreachable');
      },
    };
    // After its outage, instance 1's final check reaches the store again and finds the claim taken.
    let outage = true;
    const flaky: PaymentStore = {
      ...shared,
      renew: (...args) => (outage ? cutOff.renew(...args) : shared.renew(...args)),
    };
    const secret = new Uint8Array(32).fill(7);
    const one = await flowPaywall(devnet, routes, slowHandler(served, 900), {
      settleLeaseMs: 200,
      store: flaky,
      challengeSecret: secret,
    });
    const two = await flowPaywall(devnet, routes, slowHandler(served, 0), {
      settleLeaseMs: 200,
      store: shared,
      challengeSecret: secret,
    });
    const start = await balances();
    const header = await paymentHeader(devnet, await offerOf(one.fetch, URL_, { method: 'POST', body: 'A' }), URL_);

    const a = one.fetch(URL_, { method: 'POST', body: 'A', headers: { 'PAYMENT-SIGNATURE': header } });
    await sleep(450);
    const b = await two.fetch(URL_, { method: 'POST', body: 'B', headers: { 'PAYMENT-SIGNATURE': header } });
    outage = false;
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual({ body: 'B' });
    const lost = await a;
    expect(lost.status).toBe(409);
    expect(receiptIn(lost)).toBeUndefined();
    expect(await lost.json()).toMatchObject({ code: 'PAYMENT__CONFLICT', reason: 'claim_lost' });

    // both handlers ran, one answer was delivered, one transfer
    expect(served.sort()).toEqual(['A', 'B']);
    expect(await balances()).toEqual({ payer: start.payer - PRICE, payee: start.payee + PRICE });
  });
});
