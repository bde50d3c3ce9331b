import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { PaymentPayloadV1Schema } from '@x402/core/schemas';
import { payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { evmClients } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { walletFor } from '../support/evmHarness';
import { V1_CHAIN_ID, V1_NETWORK, V1_PRICE, v1App, type V1ServerLog } from './support/v1Server';

/** Issue 6, item 3: our client pays an x402 version 1 server (402 JSON body, X-PAYMENT, X-PAYMENT-RESPONSE). */

let devnet: EvmDevnet;
let app: Hono;
let log: V1ServerLog;
let inProcess: FetchLike;

beforeAll(async () => {
  // v1 names networks by short name: run anvil as base-sepolia (84532) so the name resolves.
  devnet = await startEvmDevnet({ chainId: V1_CHAIN_ID });
  log = { paymentHeaders: [], v2HeadersSeen: 0, settled: [] };
  app = v1App(devnet, log);
  inProcess = async (input, init) => app.request(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

describe('our payingFetch → a v1 server (EIP-3009 on anvil as base-sepolia)', () => {
  it('serves a v1 challenge: JSON body, maxAmountRequired, short network name', async () => {
    const res = await inProcess('http://v1.test/v1/report');
    expect(res.status).toBe(402);
    expect(res.headers.get('PAYMENT-REQUIRED')).toBeNull();
    expect(await res.json()).toMatchObject({
      x402Version: 1,
      accepts: [{ network: V1_NETWORK, maxAmountRequired: V1_PRICE.toString() }],
    });
  });

  it('pays with X-PAYMENT, gets 200, moves exactly maxAmountRequired, and normalizes X-PAYMENT-RESPONSE', async () => {
    const before = await balances();
    const pay = payingFetch(inProcess, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay('http://v1.test/v1/report');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ report: 'v1 paid content' });

    // The wire: one X-PAYMENT in the v1 shape, never a v2 header.
    expect(log.v2HeadersSeen).toBe(0);
    expect(log.paymentHeaders).toHaveLength(1);
    const sent = PaymentPayloadV1Schema.parse(
      JSON.parse(Buffer.from(log.paymentHeaders[0] ?? '', 'base64').toString('utf8')),
    );
    expect(sent).toMatchObject({ x402Version: 1, scheme: 'exact', network: V1_NETWORK });
    expect(sent.payload).toMatchObject({
      authorization: {
        from: devnet.accounts.payer.address,
        to: devnet.accounts.payee.address,
        value: V1_PRICE.toString(),
      },
    });

    const outcome = receiptOf(res);
    expect(outcome).toMatchObject({
      rail: 'evm-eip3009',
      x402Version: 1,
      offer: { network: `eip155:${V1_CHAIN_ID}`, amount: V1_PRICE.toString() },
    });
    expect(outcome?.settleResponse).toMatchObject({
      success: true,
      transaction: log.settled[0],
      network: `eip155:${V1_CHAIN_ID}`,
    });
    expect(outcome).toMatchObject({
      receiptSource: 'settle-response',
      receipt: {
        reference: log.settled[0],
        amount: V1_PRICE.toString(),
        network: `eip155:${V1_CHAIN_ID}`,
        status: 'settled',
      },
    });
    expect(outcome?.settleResponse?.payer?.toLowerCase()).toBe(devnet.accounts.payer.address.toLowerCase());

    const after = await balances();
    expect(before.payer - after.payer).toBe(V1_PRICE);
    expect(after.payee - before.payee).toBe(V1_PRICE);
  });

  it('respects our per-request cap against a v1 offer (maxAmountRequired is the amount), paying nothing', async () => {
    const before = await balances();
    const pay = payingFetch(inProcess, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      policy: { maxPerRequest: { [devnet.token.address]: V1_PRICE - 1n } },
    });
    await expect(pay('http://v1.test/v1/report')).rejects.toMatchObject({
      rejections: [{ reason: 'over_request_cap' }],
    });
    expect(await balances()).toEqual(before);
  });
});
