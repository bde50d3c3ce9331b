/**
 * Attack (#12 finding 3, EVM EIP-3009): a malicious server takes the client's PAYMENT-SIGNATURE, settles the
 * signed authorization itself on chain with the real server rail, and answers 402 again, so a client that
 * thinks "a 402 means no money moved" releases its budget hold and pays again on every retry (before the fix:
 * a budget of one price, four prices spent, the ledger at 0).
 *
 * Guarantee: the client's budget counts every payment that left the wallet, whatever the server answers; the
 * origin that took money without serving gets a strike and is not paid again until the user resets it. With a
 * budget of exactly one price: after the first paid attempt the ledger shows the price spent, the response
 * carries a typed PaymentRefusedByServerError, retries throw OriginSuspendedError without paying, and the
 * payer's token balance went down by exactly one price. A server that settles and drops the answer is treated
 * the same way (the client throws PaymentRefusedByServerError and keeps the budget spent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetLedger, createOriginStrikes, payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { evmClients } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { PRICE, evmPaywall, walletFor } from '../support/evmHarness';
import { settlingRefuser } from './support/settlingRefuser';
import { eip3009Rail, payerPayeeBalances } from './support/evmFlow';

const BASE = 'http://shop.test';
let devnet: EvmDevnet;
let honest: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  ({ fetch: honest } = await evmPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

const serverRail = () => eip3009Rail(devnet);
const balances = () => payerPayeeBalances(devnet);

describe('client against a server that settles and answers 402 (EVM EIP-3009, anvil)', () => {
  it('a budget of one price: one price spent and counted, no second payment, typed errors', async () => {
    const evil = settlingRefuser(honest, serverRail());
    const budget = { asset: devnet.token.address, limit: PRICE, window: 'total' as const };
    const ledger = createBudgetLedger([budget]);
    const pay = payingFetch(evil.fetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      ledger,
      resend: false,
    });
    const before = await balances();

    const res = await pay(`${BASE}/paid/3009`);
    expect(res.status).toBe(402);
    const outcome = receiptOf(res);
    expect(outcome?.refused).toMatchObject({
      name: 'PaymentRefusedByServerError',
      code: 'CLIENT__PAYMENT__REFUSED_BY_SERVER',
      refused: { status: 402, amount: PRICE.toString(), origin: BASE },
    });
    expect(outcome?.receipt).toBeUndefined();
    expect(ledger.used(budget, BASE)).toBe(PRICE);

    // A naive retry loop: every further attempt is refused before anything is paid.
    for (let i = 0; i < 3; i += 1)
      await expect(pay(`${BASE}/paid/3009`)).rejects.toMatchObject({
        name: 'OriginSuspendedError',
        code: 'CLIENT__ORIGIN__SUSPENDED',
      });
    expect(evil.received).toBe(1);
    expect(evil.settled).toHaveLength(1);
    expect(ledger.used(budget, BASE)).toBe(PRICE);
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });

  it('the budget alone stops it too: after the user resets the strikes, the spent budget refuses the next payment', async () => {
    const evil = settlingRefuser(honest, serverRail());
    const budget = { asset: devnet.token.address, limit: PRICE, window: 'total' as const };
    const ledger = createBudgetLedger([budget]);
    const strikes = createOriginStrikes();
    const pay = payingFetch(evil.fetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      ledger,
      strikes,
      resend: false,
    });
    const before = await balances();
    expect((await pay(`${BASE}/paid/3009`)).status).toBe(402);
    strikes.reset(BASE);
    await expect(pay(`${BASE}/paid/3009`)).rejects.toMatchObject({
      name: 'NoAcceptableOfferError',
      rejections: [{ reason: 'budget_exceeded' }],
    });
    expect(evil.received).toBe(1);
    expect(ledger.used(budget, BASE)).toBe(PRICE);
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });

  it('a server that settles and drops the answer: the client throws PaymentRefusedByServerError and keeps the budget spent', async () => {
    const evil = settlingRefuser(honest, serverRail(), { dropAnswer: true });
    const budget = { asset: devnet.token.address, limit: 10n * PRICE, window: 'total' as const };
    const ledger = createBudgetLedger([budget]);
    const pay = payingFetch(evil.fetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      ledger,
      resend: { attempts: 3, delayMs: 1 },
    });
    const before = await balances();
    await expect(pay(`${BASE}/paid/3009`)).rejects.toMatchObject({
      name: 'PaymentRefusedByServerError',
      refused: { status: 0, reason: 'no_answer', amount: PRICE.toString() },
    });
    await expect(pay(`${BASE}/paid/3009`)).rejects.toMatchObject({ name: 'OriginSuspendedError' });
    // the same signed payment was re-sent 3 times; the rail answers each with the one settlement it made
    expect(evil.received).toBe(3);
    expect(new Set(evil.settled).size).toBe(1);
    expect(ledger.used(budget, BASE)).toBe(PRICE);
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });
});
