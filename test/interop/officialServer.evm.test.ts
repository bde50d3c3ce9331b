import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { decodePaymentResponseHeader as officialDecodePaymentResponse } from '@x402/core/http';
import {
  NoAcceptableOfferError,
  ReceiptSchema,
  createBudgetLedger,
  payingFetch,
  receiptOf,
  type FetchLike,
} from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { evmClients } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { walletFor } from '../support/evmHarness';
import { OFFICIAL_PRICE, officialEvmFacilitator, officialEvmHonoApp } from './support/officialEvm';

/**
 * Issue 6, item 2 (EVM): our payingFetch pays an official `@x402/hono` server (official exact EVM server
 * scheme, backed in-process by the official exact EVM facilitator settling on anvil with a viem wallet).
 */

let devnet: EvmDevnet;
let app: Hono;
let inProcess: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  app = officialEvmHonoApp(devnet, officialEvmFacilitator(devnet).client);
  inProcess = async (input, init) => app.request(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

describe('our payingFetch → official @x402/hono server + official facilitator (EVM, EIP-3009, anvil)', () => {
  it('pays in-process, gets 200, moves exactly the price, and the outcome carries the official SettleResponse', async () => {
    const before = await balances();
    const pay = payingFetch(inProcess, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay('http://official.test/weather');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ weather: 'sunny' });

    const outcome = receiptOf(res);
    expect(outcome).toMatchObject({
      rail: 'evm-eip3009',
      x402Version: 2,
      offer: { amount: OFFICIAL_PRICE.toString(), asset: devnet.token.address },
    });
    // The official server sends no x402-rails receipt: the outcome holds its SettleResponse, decoded as the SDK
    // decodes it, and the same receipt format built from it (unsigned; the transaction is the proof).
    expect(outcome?.receiptError).toBeUndefined();
    const official = officialDecodePaymentResponse(res.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(outcome?.receiptSource).toBe('settle-response');
    // … and checked on chain: the transaction moved the price from the payer to payTo.
    expect(outcome?.receiptCheck).toBe('on_chain');
    expect(ReceiptSchema.parse(outcome?.receipt)).toMatchObject({
      rail: 'evm-eip3009',
      network: devnet.network,
      asset: devnet.token.address,
      amount: OFFICIAL_PRICE.toString(),
      reference: official.transaction,
      request: { method: 'GET', url: 'http://official.test/weather' },
      status: 'settled',
    });
    expect(outcome?.receipt?.payer.toLowerCase()).toBe(devnet.accounts.payer.address.toLowerCase());
    expect(outcome?.settleResponse).toMatchObject({
      success: true,
      transaction: official.transaction,
      network: devnet.network,
    });
    expect(outcome?.settleResponse?.payer?.toLowerCase()).toBe(devnet.accounts.payer.address.toLowerCase());

    const tx = await devnet.publicClient.getTransactionReceipt({ hash: official.transaction as `0x${string}` });
    expect(tx.status).toBe('success');
    expect(tx.from.toLowerCase()).toBe(devnet.accounts.facilitator.address.toLowerCase());
    const after = await balances();
    expect(before.payer - after.payer).toBe(OFFICIAL_PRICE);
    expect(after.payee - before.payee).toBe(OFFICIAL_PRICE);
  });

  it('pays over a real socket the same way', async () => {
    const server: StartedServer = await serveFetch((request) => app.fetch(request));
    try {
      const before = await balances();
      const pay = payingFetch(fetch, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer2')] });
      const res = await pay(`${server.url}/weather`);
      expect(res.status).toBe(200);
      expect(receiptOf(res)?.settleResponse?.success).toBe(true);
      expect(before.payee + OFFICIAL_PRICE).toBe((await balances()).payee);
    } finally {
      await server.close();
    }
  });

  it('leaves free routes alone and pays nothing', async () => {
    const before = await balances();
    const pay = payingFetch(inProcess, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay('http://official.test/free');
    expect(res.status).toBe(200);
    expect(receiptOf(res)).toBeUndefined();
    expect(await balances()).toEqual(before);
  });

  it('our spending policy applies to an official server’s offer: over the cap, nothing is paid', async () => {
    const before = await balances();
    const pay = payingFetch(inProcess, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      policy: { maxPerRequest: { [devnet.token.address]: OFFICIAL_PRICE - 1n } },
    });
    const error = await pay('http://official.test/weather').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoAcceptableOfferError);
    expect((error as NoAcceptableOfferError).rejections[0]?.reason).toBe('over_request_cap');
    expect(await balances()).toEqual(before);
  });

  it('a payer without funds is refused by the official facilitator (402); the budget keeps the payment (it left the wallet)', async () => {
    const before = await balances();
    const ledger = createBudgetLedger([{ asset: devnet.token.address, limit: OFFICIAL_PRICE, window: 'hour' }]);
    const pay = payingFetch(inProcess, { adapters: evmClients(), wallets: [walletFor(devnet, 'poor')], ledger });
    const res = await pay('http://official.test/weather');
    expect(res.status).toBe(402);
    expect(receiptOf(res)?.settleResponse).toBeUndefined();
    expect(await balances()).toEqual(before);
    // Before #12 the hold was released on a 402 (this test asserted it): but the server holds a signed
    // authorization it can still settle while it is valid, so a 402 proves nothing. The budget keeps it.
    expect(receiptOf(res)?.refused).toMatchObject({
      code: 'CLIENT__PAYMENT__REFUSED_BY_SERVER',
      refused: { status: 402, amount: OFFICIAL_PRICE.toString() },
    });
    expect(ledger.used(ledger.budgets[0]!, 'http://official.test')).toBe(OFFICIAL_PRICE);
  });

  it('reads the official server’s failed settlement (PAYMENT-RESPONSE success:false); the budget keeps the payment', async () => {
    const { client: real } = officialEvmFacilitator(devnet);
    const failing = {
      ...real,
      settle: async () => ({
        success: false,
        errorReason: 'unexpected_settle_error',
        transaction: '',
        network: devnet.network,
      }),
    };
    const failingApp = officialEvmHonoApp(devnet, failing);
    const before = await balances();
    const ledger = createBudgetLedger([{ asset: devnet.token.address, limit: OFFICIAL_PRICE, window: 'hour' }]);
    const pay = payingFetch(async (input, init) => failingApp.request(new Request(input, init)), {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      ledger,
    });
    const res = await pay('http://official.test/weather');
    expect(res.status).toBe(402);
    expect(receiptOf(res)?.settleResponse).toMatchObject({
      success: false,
      errorReason: 'unexpected_settle_error',
      transaction: '',
    });
    expect(await balances()).toEqual(before);
    // The server still holds the signed authorization (it may settle it later): kept, not released (the old
    // assertion, a release, was the bug of #12 finding 3).
    expect(receiptOf(res)?.refused).toMatchObject({ refused: { status: 402, reason: 'unexpected_settle_error' } });
    expect(ledger.used(ledger.budgets[0]!, 'http://official.test')).toBe(OFFICIAL_PRICE);
  });
});
