import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { decodePaymentResponseHeader as officialDecodePaymentResponse } from '@x402/core/http';
import { payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { solanaExactClient } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { solanaWalletFor } from '../support/solanaHarness';
import {
  OFFICIAL_SOL_PRICE,
  SOLANA_DEVNET_REAL_GENESIS_HASH,
  officialSvmFacilitator,
  officialSvmHonoApp,
} from './support/officialSvm';

/** Issue 6, item 2 (Solana): our payingFetch pays an official `@x402/hono` server backed by the official exact SVM facilitator on the litesvm devnet. */

let devnet: SolanaDevnet;
let app: Hono;
let inProcess: FetchLike;

beforeAll(async () => {
  devnet = await startSolanaDevnet({ genesisHash: SOLANA_DEVNET_REAL_GENESIS_HASH, slotIntervalMs: 0 });
  app = officialSvmHonoApp(devnet, await officialSvmFacilitator(devnet));
  inProcess = async (input, init) => app.request(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => ({
  payer: devnet.tokenBalance(devnet.keypairs.payer.publicKey),
  payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey),
});

describe('our payingFetch → official @x402/hono server + official facilitator (Solana exact, litesvm devnet)', () => {
  it('pays, gets 200, moves exactly the price, and the outcome carries the official SettleResponse', async () => {
    const before = balances();
    const pay = payingFetch(inProcess, {
      adapters: [solanaExactClient()],
      wallets: [solanaWalletFor(devnet, 'payer')],
    });
    const res = await pay('http://official.test/sol-weather');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ weather: 'windy' });
    const outcome = receiptOf(res);
    const official = officialDecodePaymentResponse(res.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(outcome).toMatchObject({
      rail: 'solana-spl',
      x402Version: 2,
      offer: { amount: OFFICIAL_SOL_PRICE.toString(), asset: devnet.mint.toBase58() },
    });
    expect(outcome?.settleResponse).toMatchObject({
      success: true,
      transaction: official.transaction,
      network: devnet.network,
      payer: devnet.keypairs.payer.publicKey.toBase58(),
    });
    expect(outcome?.receiptSource).toBe('settle-response');
    // … and checked on chain: the transaction moved the price from the payer to payTo.
    expect(outcome?.receiptCheck).toBe('on_chain');
    expect(outcome?.receipt).toMatchObject({
      rail: 'solana-spl',
      reference: official.transaction,
      amount: OFFICIAL_SOL_PRICE.toString(),
      payer: devnet.keypairs.payer.publicKey.toBase58(),
      status: 'settled',
    });
    expect(devnet.ledger.history.get(official.transaction)).toBeTruthy();
    const after = balances();
    expect(before.payer - after.payer).toBe(OFFICIAL_SOL_PRICE);
    expect(after.payee - before.payee).toBe(OFFICIAL_SOL_PRICE);
  });
});
