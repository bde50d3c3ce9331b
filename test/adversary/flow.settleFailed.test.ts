/**
 * Attack (#12 finding 5, the payment flow): a payment that verifies but cannot settle. The payer signs an
 * EIP-3009 authorization for the price, and while the handler runs (after verify) moves its whole balance away,
 * so the settlement reverts. Before the fix the flow released the claim on that failure, and the same
 * PAYMENT-SIGNATURE, sent again after topping the balance back up, verified again and ran the handler again:
 * one payload, unlimited handler runs, nothing ever paid.
 *
 * Guarantee: a payment whose settlement failed after its handler ran is recorded `failed` for good: the same
 * payload sent 20 more times gets 402 `payment_failed` and never reaches the handler, whatever the payer's
 * balance; the payee is paid nothing. And each such failure reaches the risk controls: a payer who does it
 * with 3 fresh authorizations is refused on the 4th before the handler (402 `payer_settlement_failures`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { riskControls } from '../../src/risk/riskControls';
import type { SettlementOutcome } from '../../src/server/extensions';
import { PRICE } from '../support/evmHarness';
import { flowPaywall, moveTokens, offerOf, paymentHeader, reasonOf } from './support/evmFlow';

const URL_ = 'http://shop.test/drain';
const routes = { 'GET /drain': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

const balanceOf = (name: 'payer2' | 'payee' | 'deployer') => devnet.balanceOf(devnet.accounts[name].address);

/** A handler that, on every run, moves the payer's whole balance to the deployer (after verify, before settle). */
function drainingHandler(runs: { count: number }) {
  return async () => {
    runs.count++;
    await moveTokens(devnet, 'payer2', 'deployer', await balanceOf('payer2'));
    return Response.json({ served: true });
  };
}

describe('a payment that verifies but cannot settle (EIP-3009 on anvil)', () => {
  it('is served once; the same payload sent 20 more times (balance topped up each time) reaches the handler 0 more times', async () => {
    const runs = { count: 0 };
    const outcomes: SettlementOutcome[] = [];
    const { fetch } = await flowPaywall(devnet, routes, drainingHandler(runs), {
      extensions: [{ name: 'observer', onSettlement: async (o) => void outcomes.push(o) }],
    });
    const start = {
      payer: await balanceOf('payer2'),
      payee: await balanceOf('payee'),
      sink: await balanceOf('deployer'),
    };
    const header = await paymentHeader(devnet, await offerOf(fetch, URL_), URL_, 'payer2');

    const first = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(first.status).toBe(402);
    expect(await reasonOf(first)).toBe('settlement_reverted');
    expect(runs.count).toBe(1);
    expect(outcomes.map((o) => o.outcome)).toEqual(['failed']);
    expect(outcomes[0]?.payer.toLowerCase()).toBe(devnet.accounts.payer2.address.toLowerCase());

    const reasons: Array<string | undefined> = [];
    for (let i = 0; i < 20; i++) {
      // the payer has its funds back each time: only the flow's record of the failure can refuse the payload
      const held = await balanceOf('payer2');
      if (held < start.payer) await moveTokens(devnet, 'deployer', 'payer2', start.payer - held);
      const again = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': header } });
      expect(again.status).toBe(402);
      reasons.push(await reasonOf(again));
    }
    expect(reasons).toEqual(Array.from({ length: 20 }, () => 'payment_failed'));
    expect(runs.count).toBe(1);
    expect(outcomes).toHaveLength(1);
    // nothing reached the payee; the payer has exactly its funds back (moved away once, topped up once)
    expect(await balanceOf('payee')).toBe(start.payee);
    expect(await balanceOf('payer2')).toBe(start.payer);
    expect(await balanceOf('deployer')).toBe(start.sink);
  });

  it('a payer who keeps doing it with fresh authorizations is refused before the handler after 3 failures', async () => {
    const runs = { count: 0 };
    const risk = riskControls({ payerFailures: { failureThreshold: 3, cooldownMs: 60_000 } });
    const { fetch } = await flowPaywall(devnet, routes, drainingHandler(runs), { extensions: [risk] });
    const start = { payer: await balanceOf('payer2'), payee: await balanceOf('payee') };
    const reasons: Array<string | undefined> = [];
    for (let i = 0; i < 5; i++) {
      const held = await balanceOf('payer2');
      if (held < start.payer) await moveTokens(devnet, 'deployer', 'payer2', start.payer - held);
      const header = await paymentHeader(devnet, await offerOf(fetch, URL_), URL_, 'payer2');
      const res = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': header } });
      expect(res.status).toBe(402);
      reasons.push(await reasonOf(res));
    }
    expect(reasons).toEqual([
      'settlement_reverted',
      'settlement_reverted',
      'settlement_reverted',
      'payer_settlement_failures',
      'payer_settlement_failures',
    ]);
    expect(runs.count).toBe(3);
    expect(await balanceOf('payee')).toBe(start.payee);
    expect(await balanceOf('payer2')).toBe(start.payer);
  });
});
