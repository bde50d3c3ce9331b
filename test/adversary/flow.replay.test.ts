/**
 * Attack (#12 finding 6, plain paid route): one payment, many services by repeating the identical request.
 * Before the fix, a settled payment presented again for the identical request (same method, URL, body) ran the
 * handler again with the stored receipt, as often and as late as anyone liked: the idempotent retry was an
 * unlimited free pass for whoever held the PAYMENT-SIGNATURE.
 *
 * Guarantee: a replay is served only as a lost answer's resend: within `replay.windowMs` of the settlement and
 * at most `replay.max` times (default 3), counted in the payment store, so two server instances sharing it
 * serve no more between them. Past the bound: 409 `replay_limit_reached` / `replay_window_closed` with the
 * receipt attached and no handler run. The client's own resend after a lost answer still gets its 200 and
 * receipt. All on anvil: payee + exactly 1 price.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { createSqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import { PRICE, walletFor } from '../support/evmHarness';
import { flowPaywall, offerOf, paymentHeader, reasonOf, receiptIn, payerPayeeBalances } from './support/evmFlow';

const URL_ = 'http://shop.test/report';
const routes = { 'POST /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
const init = (header: string): RequestInit => ({
  method: 'POST',
  body: 'same body',
  headers: { 'PAYMENT-SIGNATURE': header },
});
let devnet: EvmDevnet;
const dir = mkdtempSync(join(tmpdir(), 'x402-adversary-replay-'));

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const balances = () => payerPayeeBalances(devnet);
const counting = (runs: { count: number }) => async () => {
  runs.count++;
  return Response.json({ report: 'paid' });
};

describe('replaying a settled payment for the identical request (EIP-3009 on anvil)', () => {
  it('20 replays over two instances sharing one SQLite store: 3 served, 17 refused with the receipt, payee + 1 price', async () => {
    const runs = { count: 0 };
    const path = join(dir, 'shared.sqlite');
    const [storeA, storeB] = [createSqlitePaymentStore({ path }), createSqlitePaymentStore({ path })];
    const challengeSecret = new Uint8Array(32).fill(3);
    const a = await flowPaywall(devnet, routes, counting(runs), { store: storeA, challengeSecret });
    const b = await flowPaywall(devnet, routes, counting(runs), { store: storeB, challengeSecret });
    const start = await balances();
    const header = await paymentHeader(
      devnet,
      await offerOf(a.fetch, URL_, { method: 'POST', body: 'same body' }),
      URL_,
    );

    const paid = await a.fetch(URL_, init(header));
    expect(paid.status).toBe(200);
    const receipt = receiptIn(paid);
    expect(runs.count).toBe(1);

    const statuses: number[] = [];
    const reasons: Array<string | undefined> = [];
    for (let i = 0; i < 20; i++) {
      const res = await (i % 2 === 0 ? a : b).fetch(URL_, init(header));
      statuses.push(res.status);
      expect(receiptIn(res)?.id).toBe(receipt?.id);
      if (res.status !== 200) reasons.push(await reasonOf(res));
      else await res.body?.cancel();
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 409)).toHaveLength(17);
    expect(new Set(reasons)).toEqual(new Set(['replay_limit_reached']));
    expect(runs.count).toBe(4);
    expect(await balances()).toEqual({ payer: start.payer - PRICE, payee: start.payee + PRICE });
    storeA.close();
    storeB.close();
  });

  it('a replay after the window gets 409 replay_window_closed without a handler run', async () => {
    const runs = { count: 0 };
    const { fetch } = await flowPaywall(devnet, routes, counting(runs), { replay: { windowMs: 200, max: 3 } });
    const start = await balances();
    const header = await paymentHeader(devnet, await offerOf(fetch, URL_, { method: 'POST', body: 'same body' }), URL_);
    expect((await fetch(URL_, init(header))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = await fetch(URL_, init(header));
    expect(late.status).toBe(409);
    expect(await reasonOf(late)).toBe('replay_window_closed');
    expect(runs.count).toBe(1);
    expect(await balances()).toEqual({ payer: start.payer - PRICE, payee: start.payee + PRICE });
  });

  it("the client's resend after a lost answer still gets its 200 and receipt, paying once", async () => {
    const runs = { count: 0 };
    const { fetch } = await flowPaywall(devnet, routes, counting(runs));
    // The network drops the answer of the first paid request, after the server settled it.
    let dropped = 0;
    const lossy: FetchLike = async (input, options) => {
      const res = await fetch(input, options);
      if (new Headers(options?.headers).has('PAYMENT-SIGNATURE') && dropped++ === 0) {
        await res.body?.cancel();
        throw new TypeError('fetch failed: connection reset');
      }
      return res;
    };
    const start = await balances();
    const pay = payingFetch(lossy, {
      adapters: [evmEip3009Client()],
      wallets: [walletFor(devnet, 'payer')],
      resend: { attempts: 3, delayMs: 5 },
    });
    const res = await pay(URL_, { method: 'POST', body: 'same body' });
    expect(res.status).toBe(200);
    expect(receiptOf(res)?.receipt).toBeDefined();
    expect(runs.count).toBe(2);
    expect(await balances()).toEqual({ payer: start.payer - PRICE, payee: start.payee + PRICE });
  });
});
