import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { Challenge, Receipt } from 'mppx';
import { Mppx, evm } from 'mppx/client';
import { decodePaymentRequiredHeader, MPP_SIGNED_RECEIPT_KEY, verifyReceipt, type Paywall } from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { PRICE, evmPaywall } from '../support/evmHarness';

/**
 * Issue 16: the real mppx client (`mppx/client`, `evm` charge, fetch) pays our paywall on anvil. One 402 carries
 * x402 PAYMENT-REQUIRED and an MPP `Payment` challenge; mppx pays the MPP one (EIP-3009 authorization whose
 * nonce binds the challenge), is served once, balances move once, and mppx parses our Payment-Receipt.
 */

let devnet: EvmDevnet;
let pw: Paywall;
let server: StartedServer;
let runs = 0;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const built = await evmPaywall(devnet);
  pw = built.pw;
  server = await serveFetch(
    pw.wrap(async (request) => {
      runs += 1;
      return Response.json({ ok: true, path: new URL(request.url).pathname });
    }),
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

function mppxClient() {
  const account = privateKeyToAccount(devnet.accounts.payer.privateKey as Hex);
  return Mppx.create({
    methods: [evm.charge({ account, authorization: { name: devnet.token.name, version: devnet.token.version } })],
    polyfill: false,
  });
}

describe('mppx client → our paywall (MPP evm charge, anvil)', () => {
  it('one 402 offers x402 and MPP; mppx reads our Payment challenge, wire-identical to its own', async () => {
    const res = await fetch(`${server.url}/paid/3009`);
    expect(res.status).toBe(402);
    const offer = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
    const [challenge] = Challenge.fromResponseList(res);
    expect(challenge).toMatchObject({
      method: 'evm',
      intent: 'charge',
      realm: new URL(server.url).host,
      request: {
        amount: PRICE.toString(),
        currency: devnet.token.address,
        recipient: devnet.accounts.payee.address,
        methodDetails: { chainId: devnet.chainId, credentialTypes: ['authorization'], decimals: 6 },
      },
    });
    // Its expiry is the x402 offer's: one binding for both protocols.
    expect(Date.parse(challenge?.expires ?? '')).toBe(Number(String(offer?.extra.challenge).split('.')[1]) * 1000);
    // mppx writes the same header from the same challenge.
    expect(res.headers.get('WWW-Authenticate')).toBe(Challenge.serialize(challenge as Challenge.Challenge));
  });

  it('pays once: 200, handler ran once, payer −PRICE, payee +PRICE, Payment-Receipt read by mppx carries our signed receipt (protocol mpp)', async () => {
    const before = await balances();
    const runsBefore = runs;
    const mppx = mppxClient();
    const res = await mppx.fetch(`${server.url}/paid/3009`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, path: '/paid/3009' });
    expect(runs - runsBefore).toBe(1);

    const receipt = Receipt.fromResponse(res);
    expect(receipt).toMatchObject({ method: 'evm', status: 'success' });
    const tx = await devnet.publicClient.getTransactionReceipt({ hash: receipt.reference as Hex });
    expect(tx.status).toBe('success');

    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);

    const signed = await verifyReceipt((receipt as Record<string, unknown>)[MPP_SIGNED_RECEIPT_KEY], pw.jwks(), {
      request: { method: 'GET', url: `${server.url}/paid/3009` },
    });
    expect(signed).toMatchObject({
      protocol: 'mpp',
      rail: 'evm-eip3009',
      amount: PRICE.toString(),
      reference: receipt.reference,
      payer: devnet.accounts.payer.address,
      status: 'settled',
    });
    // The x402 header carries the same receipt for x402-aware clients.
    expect(res.headers.get('PAYMENT-RESPONSE')).toBeTruthy();
  });

  it('honours Accept-Payment: an MPP preference weighted 0 leaves the 402 without a Payment challenge (x402 still offered)', async () => {
    const res = await fetch(`${server.url}/paid/3009`, { headers: { 'Accept-Payment': 'evm/charge;q=0' } });
    expect(res.status).toBe(402);
    expect(res.headers.get('WWW-Authenticate')).toBeNull();
    expect(res.headers.get('PAYMENT-REQUIRED')).toBeTruthy();
    const preferred = await fetch(`${server.url}/paid/3009`, { headers: { 'Accept-Payment': 'evm/charge' } });
    expect(Challenge.fromResponseList(preferred)).toHaveLength(1);
  });
});
