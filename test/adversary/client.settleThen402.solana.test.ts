/**
 * Attack (#12 finding 3, Solana SPL): a malicious server takes the client's partially signed transaction,
 * co-signs and submits it itself with the real server rail, and answers 402 again, hoping the client releases
 * its budget hold and pays again on every retry.
 *
 * Guarantee: the budget counts every payment that left the wallet, whatever the server answers, and the origin
 * that took money without serving is not paid again until the user resets its strikes. With a budget of exactly
 * one price: the ledger shows the price spent after the first attempt, the response carries a typed
 * PaymentRefusedByServerError, retries throw OriginSuspendedError, and the payer's token balance went down by
 * exactly one price (the payee's up by one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetLedger, payingFetch, receiptOf, type FetchLike, type ServerRail } from '../../src/index';
import { solanaExactClient } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { SOL_PRICE, solanaPaywall, solanaWalletFor } from '../support/solanaHarness';
import { settlingRefuser } from './support/settlingRefuser';

const BASE = 'http://shop.test';
let devnet: SolanaDevnet;
let honest: FetchLike;
let rail: ServerRail;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  ({ fetch: honest, rail } = await solanaPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

describe('client against a server that settles and answers 402 (Solana SPL, litesvm devnet)', () => {
  it('a budget of one price: one price spent and counted, no second payment, typed errors', async () => {
    const evil = settlingRefuser(honest, rail);
    const budget = { asset: devnet.mint.toBase58(), limit: SOL_PRICE, window: 'total' as const };
    const ledger = createBudgetLedger([budget]);
    const pay = payingFetch(evil.fetch, {
      adapters: [solanaExactClient()],
      wallets: [solanaWalletFor(devnet, 'payer')],
      ledger,
      resend: false,
    });
    const payer = devnet.keypairs.payer.publicKey;
    const payee = devnet.keypairs.payee.publicKey;
    const before = { payer: devnet.tokenBalance(payer), payee: devnet.tokenBalance(payee) };

    const res = await pay(`${BASE}/paid/sol`);
    expect(res.status).toBe(402);
    expect(receiptOf(res)?.refused).toMatchObject({
      name: 'PaymentRefusedByServerError',
      refused: { status: 402, amount: SOL_PRICE.toString(), origin: BASE, rail: 'solana-spl' },
    });
    expect(receiptOf(res)?.receipt).toBeUndefined();
    expect(ledger.used(budget, BASE)).toBe(SOL_PRICE);

    for (let i = 0; i < 3; i += 1)
      await expect(pay(`${BASE}/paid/sol`)).rejects.toMatchObject({
        name: 'OriginSuspendedError',
        code: 'CLIENT__ORIGIN__SUSPENDED',
      });
    expect(evil.received).toBe(1);
    expect(evil.settled).toHaveLength(1);
    expect(ledger.used(budget, BASE)).toBe(SOL_PRICE);
    expect(before.payer - devnet.tokenBalance(payer)).toBe(SOL_PRICE);
    expect(devnet.tokenBalance(payee) - before.payee).toBe(SOL_PRICE);
  });
});
