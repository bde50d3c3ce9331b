import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receipt } from 'mppx';
import { Mppx, evm } from 'mppx/server';
import { evmEip3009Client } from '../../adapters/evm/index';
import { payingFetch, receiptOf } from '../../src/index';
import type { StartedFacilitator } from '../../src/facilitator/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { PRICE, walletFor } from '../support/evmHarness';
import { bearer, startEvmFacilitator } from '../support/facilitatorHarness';
import { payerPayeeBalances } from '../adversary/support/evmFlow';

/**
 * Issue 16: our payingFetch → an mppx server (`mppx/server`, `evm` charge) on anvil that settles through our
 * facilitator (mppx's x402 facilitator client → /verify, /settle). Its 402 carries an MPP `Payment` challenge and
 * an x402 PAYMENT-REQUIRED for the same payment: payingFetch pays exactly one of them, by its protocol preference,
 * and builds our receipt from the Payment-Receipt (checked on chain).
 */

let devnet: EvmDevnet;
let facilitator: StartedFacilitator;
let server: StartedServer;
let runs = 0;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  facilitator = await startEvmFacilitator(devnet);
  const withKey: typeof fetch = (input, init) =>
    fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...bearer() } });
  const mppx = Mppx.create({
    methods: [
      evm.charge({
        chainId: devnet.chainId,
        currency: devnet.token.address,
        decimals: 6,
        recipient: devnet.accounts.payee.address,
        authorization: { name: devnet.token.name, version: devnet.token.version },
        x402: { facilitator: facilitator.url, fetch: withKey },
      }),
    ],
    secretKey: 'an mppx server secret of at least 32 bytes!',
    realm: 'mppx.test',
  });
  server = await serveFetch(async (request) => {
    const result = await mppx.charge({ amount: '0.01' })(request);
    if (result.status === 402) return result.challenge;
    runs += 1;
    return result.withReceipt(Response.json({ ok: true }));
  });
});
afterAll(async () => {
  await server?.close();
  await facilitator?.close();
  await devnet?.stop();
});

const client = (protocols?: readonly ('x402' | 'mpp')[]) =>
  payingFetch(fetch, {
    adapters: [evmEip3009Client({ domains: [devnet.token] })],
    wallets: [walletFor(devnet, 'payer')],
    ...(protocols ? { protocols } : {}),
  });

describe('our payingFetch → mppx server (evm charge, settled by our facilitator, anvil)', () => {
  it('pays the MPP challenge once: 200, payer −PRICE, payee +PRICE, our receipt built from its Payment-Receipt and confirmed on chain', async () => {
    const before = await payerPayeeBalances(devnet);
    const runsBefore = runs;
    const res = await client(['mpp'])(`${server.url}/resource`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(runs - runsBefore).toBe(1);
    const mppReceipt = Receipt.fromResponse(res);
    const outcome = receiptOf(res);
    expect(outcome).toMatchObject({
      protocol: 'mpp',
      rail: 'evm-eip3009',
      receiptSource: 'settle-response',
      receiptCheck: 'on_chain',
    });
    expect(outcome?.receiptError).toBeUndefined();
    expect(outcome?.receipt).toMatchObject({
      reference: mppReceipt.reference,
      network: devnet.network,
      asset: devnet.token.address,
      payee: devnet.accounts.payee.address,
      amount: PRICE.toString(),
      status: 'settled',
    });
    const after = await payerPayeeBalances(devnet);
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });

  it('offered both x402 and MPP for the same payment, pays one of them once (x402 by default)', async () => {
    const before = await payerPayeeBalances(devnet);
    const res = await client()(`${server.url}/resource`);
    expect(res.status).toBe(200);
    expect(receiptOf(res)).toMatchObject({ protocol: 'x402' });
    const after = await payerPayeeBalances(devnet);
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });
});
