/**
 * Attack (#12 finding 3, Lightning): the payer's node pays the invoice before the retry (the preimage is the
 * credential), so a server that answers the paid retry with 402 again (a fresh invoice) has the money already.
 * A client that pays every 402 it gets is drained one invoice per retry.
 *
 * Guarantee: payingFetch (x402, `lightningClient`) keeps the paid invoice in the budget and refuses to pay the
 * origin again (OriginSuspendedError); the plain L402 client `l402Fetch` does the same with its strikes. With a
 * budget of exactly one price: one invoice paid, the payer's channel balance down by exactly one price.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetLedger, payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { l402Fetch, lightningClient, lightningWallet } from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { LN_PRICE, lightningPaywall } from '../support/lightningHarness';

const BASE = 'http://shop.test';
let devnet: LightningDevnet;
let honest: FetchLike;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  ({ fetch: honest } = await lightningPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

/** The malicious server: ignores every credential and answers with a fresh challenge (a new invoice) each time. */
function neverServes(): { fetch: FetchLike; paidRetries: () => number } {
  let paidRetries = 0;
  const fetch: FetchLike = async (input, init) => {
    const request = new Request(input, init);
    if (request.headers.has('PAYMENT-SIGNATURE') || request.headers.has('Authorization')) paidRetries += 1;
    return honest(request.url, { method: request.method });
  };
  return { fetch, paidRetries: () => paidRetries };
}

describe('a server that takes the paid invoice and answers 402 again (LND stand-in)', () => {
  it('payingFetch + lightningClient: one invoice paid and counted, then OriginSuspendedError', async () => {
    const evil = neverServes();
    const budget = { asset: 'msat', limit: LN_PRICE, window: 'total' as const };
    const ledger = createBudgetLedger([budget]);
    const pay = payingFetch(evil.fetch, {
      adapters: [lightningClient()],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
      ledger,
      resend: false,
    });
    const before = { alice: devnet.channelBalance('alice'), bob: devnet.channelBalance('bob') };
    const res = await pay(`${BASE}/ln/report`);
    expect(res.status).toBe(402);
    expect(receiptOf(res)?.refused).toMatchObject({
      name: 'PaymentRefusedByServerError',
      refused: { status: 402, amount: LN_PRICE.toString(), rail: 'lightning-l402' },
    });
    expect(ledger.used(budget, BASE)).toBe(LN_PRICE);
    for (let i = 0; i < 3; i += 1)
      await expect(pay(`${BASE}/ln/report`)).rejects.toMatchObject({ name: 'OriginSuspendedError' });
    expect(evil.paidRetries()).toBe(1);
    expect(before.alice - devnet.channelBalance('alice')).toBe(LN_PRICE);
    expect(devnet.channelBalance('bob') - before.bob).toBe(LN_PRICE);
  });

  it('l402Fetch: one invoice paid, then OriginSuspendedError before any further invoice is paid', async () => {
    const evil = neverServes();
    const get = l402Fetch(evil.fetch, { lnd: devnet.nodes.alice.lnd, maxFeeMsat: 1_000n });
    const before = devnet.channelBalance('alice');
    expect((await get(`${BASE}/ln/report`)).status).toBe(402);
    for (let i = 0; i < 3; i += 1)
      await expect(get(`${BASE}/ln/report`)).rejects.toMatchObject({
        name: 'OriginSuspendedError',
        code: 'CLIENT__ORIGIN__SUSPENDED',
      });
    expect(evil.paidRetries()).toBe(1);
    expect(before - devnet.channelBalance('alice')).toBe(LN_PRICE);
  });
});
