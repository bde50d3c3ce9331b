import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePaymentResponseHeader, wrapFetchWithPayment } from '@x402/fetch';
import { RECEIPT_EXTENSION_KEY, verifyReceipt, type Paywall } from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { SOL_PRICE, solanaPaywall } from '../support/solanaHarness';
import { SOLANA_DEVNET_REAL_GENESIS_HASH, officialSvmClient } from './support/officialSvm';

/** Issue 6, item 1 (Solana): the official `@x402/fetch` client with the exact SVM scheme pays our paywall on the litesvm devnet. */

let devnet: SolanaDevnet;
let pw: Paywall;
let server: StartedServer;

beforeAll(async () => {
  devnet = await startSolanaDevnet({ genesisHash: SOLANA_DEVNET_REAL_GENESIS_HASH, slotIntervalMs: 0 });
  const built = await solanaPaywall(devnet);
  pw = built.pw;
  server = await serveFetch(
    pw.wrap(async (request) => Response.json({ ok: true, path: new URL(request.url).pathname })),
  );
});
afterAll(async () => {
  await server?.close();
  await devnet?.stop();
});

const balances = () => ({
  payer: devnet.tokenBalance(devnet.keypairs.payer.publicKey),
  payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey),
});

describe('official @x402/fetch client → our paywall (Solana exact, litesvm devnet)', () => {
  it('pays, gets 200, moves exactly the price, and reads PAYMENT-RESPONSE with our receipt', async () => {
    expect(devnet.network).toBe('solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1');
    const before = balances();
    const pay = wrapFetchWithPayment(
      fetch,
      await officialSvmClient(devnet, devnet.keypairs.payer, SOL_PRICE.toString()),
    );
    const res = await pay(`${server.url}/paid/sol`);
    expect(res.status).toBe(200);
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(settle).toMatchObject({
      success: true,
      network: devnet.network,
      amount: SOL_PRICE.toString(),
      payer: devnet.keypairs.payer.publicKey.toBase58(),
    });
    expect(devnet.ledger.history.get(settle.transaction)).toBeTruthy();
    const after = balances();
    expect(before.payer - after.payer).toBe(SOL_PRICE);
    expect(after.payee - before.payee).toBe(SOL_PRICE);
    const receipt = await verifyReceipt(settle.extensions?.[RECEIPT_EXTENSION_KEY], pw.jwks());
    expect(receipt).toMatchObject({
      rail: 'solana-spl',
      network: devnet.network,
      reference: settle.transaction,
      amount: SOL_PRICE.toString(),
    });
  });

  it('refuses our devnet mint under the SDK default spend controls, and moves nothing', async () => {
    const before = balances();
    const pay = wrapFetchWithPayment(fetch, await officialSvmClient(devnet, devnet.keypairs.payer));
    await expect(pay(`${server.url}/paid/sol`)).rejects.toThrow(/spendControls/);
    expect(balances()).toEqual(before);
  });

  it('pays a Token-2022 mint and a route with a seller memo', async () => {
    const signer = await officialSvmClient(devnet, devnet.keypairs.payer, SOL_PRICE.toString());
    signer.setSpendControls({
      allowedAssets: [
        { network: devnet.network, asset: devnet.mint.toBase58(), maxAmountPerPayment: SOL_PRICE.toString() },
        { network: devnet.network, asset: devnet.mint2022.toBase58(), maxAmountPerPayment: SOL_PRICE.toString() },
      ],
    });
    const pay = wrapFetchWithPayment(fetch, signer);
    const before2022 = devnet.tokenBalance(devnet.keypairs.payee.publicKey, devnet.mint2022);
    expect((await pay(`${server.url}/paid/sol2022`)).status).toBe(200);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey, devnet.mint2022) - before2022).toBe(SOL_PRICE);
    const before = balances();
    const memo = await pay(`${server.url}/paid/memo`);
    expect(memo.status).toBe(200);
    const settle = decodePaymentResponseHeader(memo.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(devnet.ledger.history.get(settle.transaction)?.logs.join('\n')).toContain('order-42');
    expect(balances().payee - before.payee).toBe(SOL_PRICE);
  });
});
