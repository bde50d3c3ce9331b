import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { PaymentPayloadV1Schema } from '@x402/core/schemas';
import { payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { solanaExactClient } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { solanaWalletFor } from '../support/solanaHarness';
import { SOLANA_DEVNET_REAL_GENESIS_HASH } from './support/officialSvm';
import { V1_SOL_PRICE, v1SolanaApp, type V1ServerLog } from './support/v1Server';

/** Issue 6, item 3 (Solana): our client pays a v1 server (`solana-devnet`, X-PAYMENT) whose checks are the official v1 exact SVM facilitator's. */

let devnet: SolanaDevnet;
let app: Hono;
let log: V1ServerLog;
let inProcess: FetchLike;

beforeAll(async () => {
  devnet = await startSolanaDevnet({ genesisHash: SOLANA_DEVNET_REAL_GENESIS_HASH, slotIntervalMs: 0 });
  log = { paymentHeaders: [], v2HeadersSeen: 0, settled: [] };
  app = await v1SolanaApp(devnet, log);
  inProcess = async (input, init) => app.request(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

describe('our payingFetch → a v1 server on Solana (official v1 SVM facilitator checks)', () => {
  it('pays with X-PAYMENT, gets 200, moves exactly maxAmountRequired', async () => {
    const payer = devnet.keypairs.payer.publicKey;
    const payee = devnet.keypairs.payee.publicKey;
    const before = { payer: devnet.tokenBalance(payer), payee: devnet.tokenBalance(payee) };
    const pay = payingFetch(inProcess, {
      adapters: [solanaExactClient()],
      wallets: [solanaWalletFor(devnet, 'payer')],
    });
    const res = await pay('http://v1.test/v1/sol-report');
    expect(res.status).toBe(200);
    expect(log.v2HeadersSeen).toBe(0);
    const sent = PaymentPayloadV1Schema.parse(
      JSON.parse(Buffer.from(log.paymentHeaders[0] ?? '', 'base64').toString('utf8')),
    );
    expect(sent).toMatchObject({
      x402Version: 1,
      scheme: 'exact',
      network: 'solana-devnet',
      payload: { transaction: expect.any(String) },
    });
    expect(receiptOf(res)).toMatchObject({
      x402Version: 1,
      rail: 'solana-spl',
      settleResponse: { success: true, transaction: log.settled[0], network: devnet.network },
    });
    expect(before.payer - devnet.tokenBalance(payer)).toBe(V1_SOL_PRICE);
    expect(devnet.tokenBalance(payee) - before.payee).toBe(V1_SOL_PRICE);
  });
});
