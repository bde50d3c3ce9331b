/**
 * Attack (#12 finding 5, same class: validity window vs the time the service takes): the payer signs an EIP-3009
 * authorization that expires 8 s from now. Verify used to want only 6 s left, so it passed; the handler then ran
 * longer than that (here: the chain's clock moves 20 s while it runs) and the token refused the settlement as
 * expired. A free handler run per short-lived authorization, whose signing costs nothing.
 *
 * Guarantee: verify wants the payment valid for the settle window (30 s by default, at most half the offer's
 * maxTimeoutSeconds, which honest clients sign for): the 8-second authorization is refused at verify (402
 * `expired`) 3 times out of 3, the handler runs 0 times and no balance moves; an authorization signed as clients do
 * (maxTimeoutSeconds, 300 s) is served by the same slow handler and settles: payer −PRICE, payee +PRICE.
 * Own EVM devnet (its clock is moved).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { encodePaymentSignatureHeader } from '../../src/index';
import { PRICE, walletFor } from '../support/evmHarness';
import { flowPaywall, offerOf, paymentHeader, reasonOf, payerPayeeBalances } from './support/evmFlow';

const URL_ = 'http://shop.test/slow';
const routes = { 'GET /slow': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => payerPayeeBalances(devnet);

describe('an authorization that lapses while the handler runs', () => {
  it('8 s of validity is refused at verify (handler 0 runs, nothing moves); a normal one survives a 20 s handler and is paid', async () => {
    const runs = { count: 0 };
    const { fetch } = await flowPaywall(devnet, routes, async () => {
      runs.count++;
      await devnet.testClient.increaseTime({ seconds: 20 }); // the service takes 20 s of chain time
      return Response.json({ served: true });
    });
    const start = await balances();
    const reasons: Array<string | undefined> = [];
    for (let i = 0; i < 3; i++) {
      const offer = await offerOf(fetch, URL_);
      const payload = await evmEip3009Client().createPayment(
        { ...offer, maxTimeoutSeconds: 8 },
        walletFor(devnet, 'payer'),
        { resource: { url: URL_ }, x402Version: 2, now: Date.now() },
      );
      const res = await fetch(URL_, {
        headers: {
          'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
            x402Version: 2,
            resource: { url: URL_ },
            accepted: offer,
            payload,
          }),
        },
      });
      expect(res.status).toBe(402);
      reasons.push(await reasonOf(res));
    }
    expect(reasons).toEqual(['expired', 'expired', 'expired']);
    expect(runs.count).toBe(0);
    expect(await balances()).toEqual(start);

    const paid = await fetch(URL_, {
      headers: { 'PAYMENT-SIGNATURE': await paymentHeader(devnet, await offerOf(fetch, URL_), URL_, 'payer') },
    });
    expect(paid.status).toBe(200);
    expect(runs.count).toBe(1);
    const end = await balances();
    expect(start.payer - end.payer).toBe(PRICE);
    expect(end.payee - start.payee).toBe(PRICE);
  });
});
