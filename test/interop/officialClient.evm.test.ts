import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePaymentResponseHeader, wrapFetchWithPayment } from '@x402/fetch';
import { PaymentRequiredV2Schema } from '@x402/core/schemas';
import { decodePaymentRequiredHeader as officialDecodePaymentRequired } from '@x402/core/http';
import { RECEIPT_EXTENSION_KEY, verifyReceipt } from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { PRICE, evmPaywall } from '../support/evmHarness';
import { officialEvmClient } from './support/officialEvm';
import type { Paywall } from '../../src/index';

/** Issue 6, item 1 (EVM): the official `@x402/fetch` client pays our paywall on anvil with EIP-3009. */

let devnet: EvmDevnet;
let pw: Paywall;
let server: StartedServer;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const built = await evmPaywall(devnet);
  pw = built.pw;
  // A real node:http socket: the official client uses the platform fetch, as against any server.
  server = await serveFetch(
    pw.wrap(async (request) => Response.json({ ok: true, path: new URL(request.url).pathname })),
  );
});
afterAll(async () => {
  await server?.close();
  await devnet?.stop();
});

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

describe('official @x402/fetch client → our paywall (EVM, EIP-3009, anvil)', () => {
  it('reads our 402 with the official decoder and schema', async () => {
    const res = await fetch(`${server.url}/paid/3009`);
    expect(res.status).toBe(402);
    const header = res.headers.get('PAYMENT-REQUIRED');
    expect(header).toBeTruthy();
    const parsed = PaymentRequiredV2Schema.parse(officialDecodePaymentRequired(header ?? ''));
    expect(parsed.accepts[0]).toMatchObject({
      scheme: 'exact',
      network: devnet.network,
      amount: PRICE.toString(),
      asset: devnet.token.address,
      payTo: devnet.accounts.payee.address,
      extra: { name: 'Rails USD', version: '2' },
    });
  });

  it('pays, gets 200, moves exactly the price, and reads PAYMENT-RESPONSE (with our receipt under extensions) with the official decoder', async () => {
    const before = await balances();
    const pay = wrapFetchWithPayment(
      fetch,
      officialEvmClient(devnet, 'payer', { maxAmountPerPayment: PRICE.toString() }),
    );
    const res = await pay(`${server.url}/paid/3009`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, path: '/paid/3009' });

    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(settle).toMatchObject({ success: true, network: devnet.network, amount: PRICE.toString() });
    expect(settle.payer?.toLowerCase()).toBe(devnet.accounts.payer.address.toLowerCase());
    const tx = await devnet.publicClient.getTransactionReceipt({ hash: settle.transaction as `0x${string}` });
    expect(tx.status).toBe('success');
    expect(tx.to?.toLowerCase()).toBe(devnet.token.address.toLowerCase());

    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);

    const receipt = await verifyReceipt(settle.extensions?.[RECEIPT_EXTENSION_KEY], pw.jwks(), {
      request: { method: 'GET', url: `${server.url}/paid/3009` },
    });
    expect(receipt).toMatchObject({
      rail: 'evm-eip3009',
      scheme: 'exact',
      network: devnet.network,
      amount: PRICE.toString(),
      reference: settle.transaction,
      status: 'settled',
    });
  });

  it('refuses to pay our devnet token under the SDK default spend controls (not a default asset), and moves nothing', async () => {
    const before = await balances();
    const pay = wrapFetchWithPayment(fetch, officialEvmClient(devnet, 'payer'));
    await expect(pay(`${server.url}/paid/3009`)).rejects.toThrow(/spendControls/);
    expect(await balances()).toEqual(before);
  });

  it('refuses a price above its per-asset atomic cap, and moves nothing', async () => {
    const before = await balances();
    const pay = wrapFetchWithPayment(
      fetch,
      officialEvmClient(devnet, 'payer', { maxAmountPerPayment: (PRICE - 1n).toString() }),
    );
    await expect(pay(`${server.url}/paid/3009`)).rejects.toThrow(/maxAmountPerPayment/);
    expect(await balances()).toEqual(before);
  });

  it('a payment the official client made for one route is refused on another route (our challenge binding holds against it)', async () => {
    let captured: string | undefined;
    const spy: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      captured = request.headers.get('PAYMENT-SIGNATURE') ?? captured;
      return fetch(request);
    };
    const pay = wrapFetchWithPayment(
      spy,
      officialEvmClient(devnet, 'payer', { maxAmountPerPayment: PRICE.toString() }),
    );
    expect((await pay(`${server.url}/paid/3009`)).status).toBe(200);
    expect(captured).toBeTruthy();
    const before = await balances();
    const replay = await fetch(`${server.url}/paid/other`, { headers: { 'PAYMENT-SIGNATURE': captured ?? '' } });
    expect(replay.status).toBe(402);
    expect(officialDecodePaymentRequired(replay.headers.get('PAYMENT-REQUIRED') ?? '').error).toBe('challenge_invalid');
    expect(await balances()).toEqual(before);
  });

  it('pays a POST route offering EIP-3009 first and EIP-2612 second (it takes the first), with the body bound', async () => {
    const before = await balances();
    const pay = wrapFetchWithPayment(
      fetch,
      officialEvmClient(devnet, 'payer', { maxAmountPerPayment: PRICE.toString() }),
    );
    const res = await pay(`${server.url}/paid/both`, { method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    const receipt = await verifyReceipt(settle.extensions?.[RECEIPT_EXTENSION_KEY], pw.jwks());
    expect(receipt.rail).toBe('evm-eip3009');
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });

  it('pays a route that lists our EIP-2612 extension first: the 402 puts the standard EIP-3009 offer first, so it signs what we can settle', async () => {
    const before = await balances();
    const unpaid = await fetch(`${server.url}/paid/2612-first`);
    const offers = officialDecodePaymentRequired(unpaid.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
    expect(offers.map((o) => o.extra?.assetTransferMethod ?? 'eip3009')).toEqual(['eip3009', 'eip2612']);
    const pay = wrapFetchWithPayment(
      fetch,
      officialEvmClient(devnet, 'payer', { maxAmountPerPayment: PRICE.toString() }),
    );
    const res = await pay(`${server.url}/paid/2612-first`);
    expect(res.status).toBe(200);
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    const receipt = await verifyReceipt(settle.extensions?.[RECEIPT_EXTENSION_KEY], pw.jwks());
    expect(receipt.rail).toBe('evm-eip3009');
    expect(before.payer - (await balances()).payer).toBe(PRICE);
    expect((await balances()).payee - before.payee).toBe(PRICE);
  });

  it('cannot pay an EIP-2612-only offer (our extension: it signs EIP-3009 instead); we refuse with invalid_payload and nothing moves', async () => {
    const before = await balances();
    const pay = wrapFetchWithPayment(
      fetch,
      officialEvmClient(devnet, 'payer', { maxAmountPerPayment: PRICE.toString() }),
    );
    const res = await pay(`${server.url}/paid/2612`);
    expect(res.status).toBe(402);
    expect(officialDecodePaymentRequired(res.headers.get('PAYMENT-REQUIRED') ?? '').error).toBe('invalid_payload');
    expect(await balances()).toEqual(before);
  });
});
