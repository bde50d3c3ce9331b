/**
 * Attack (#12 finding 2, paywall variant): a marketplace paywall offers EIP-2612 to two payees (seller A and
 * seller B) from one gas account. A permit names that gas account as spender but no payee, so a permit the payer
 * made on A's route could be presented on B's route (or settled with B's requirements) and pay B, whom the payer
 * never chose.
 *
 * Guarantee: one EIP-2612 spender pays exactly one payee. The rail will not quote B (ConfigurationError; B's route
 * offers only EIP-3009), no second EIP-2612 rail or permit authorizer can bind the same spender to B, and a
 * permit made for A presented on B's route (402, handler 0 runs) or to the rail with B's requirements (verify and
 * settle: `payee_not_bound`) moves nothing: B's balance stays 0 and the payer's permit nonce is unchanged. The same
 * permit then pays A on A's route: payer −PRICE, A +PRICE. Own EVM devnet (balance assertions).
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evmEip2612Client,
  evmEip2612Server,
  evmEip3009Server,
  evmPermitAuthorizer,
  exactTokenAbi,
} from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import {
  ConfigurationError,
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import { PRICE, walletFor } from '../support/evmHarness';
import { reasonOf } from './support/evmFlow';

const sellerB = privateKeyToAccount(generatePrivateKey()).address;
let devnet: EvmDevnet;
let sellerA: `0x${string}`;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  sellerA = devnet.accounts.payee.address;
});
afterAll(async () => {
  await devnet?.stop();
});

const settlerOf = (payTo: `0x${string}`) => ({
  publicClient: devnet.publicClient,
  walletClient: devnet.walletClientFor('facilitator'),
  confirmTimeoutMs: 10_000,
  pollingIntervalMs: 5,
  chainId: devnet.chainId,
  token: devnet.token,
  payTo,
});
const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer2.address),
  a: await devnet.balanceOf(sellerA),
  b: await devnet.balanceOf(sellerB),
});
const permitNonce = () =>
  devnet.publicClient.readContract({
    address: devnet.token.address,
    abi: exactTokenAbi,
    functionName: 'nonces',
    args: [devnet.accounts.payer2.address],
  });

async function offersOf(fetch: FetchLike, url: string): Promise<PaymentRequirements[]> {
  const res = await fetch(url);
  expect(res.status).toBe(402);
  return decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
}

describe('one EIP-2612 gas account, two payees', () => {
  it('a permit made on seller A’s route pays nobody on seller B’s; it then pays A on A’s route', async () => {
    const rail2612 = evmEip2612Server(settlerOf(sellerA));
    // The marketplace as configured before: B's route asks the same EIP-2612 rail to pay B.
    const routes = {
      'GET /a': { accepts: [{ rail: 'evm-eip2612', amount: PRICE }] },
      'GET /b': {
        accepts: [
          { rail: 'evm-eip2612', amount: PRICE, payTo: sellerB },
          { rail: 'evm-eip3009', amount: PRICE, payTo: sellerB },
        ],
      },
    };
    const pw = paywall(routes, {
      rails: [rail2612, evmEip3009Server(settlerOf(sellerA))],
      signer: await createReceiptSigner(),
      issuer: 'http://market.test',
    });
    const served: string[] = [];
    const app = pw.wrap(async (request) => {
      served.push(new URL(request.url).pathname);
      return Response.json({ ok: true });
    });
    const fetch: FetchLike = async (input, init) => app(new Request(input, init));

    // B's route cannot offer EIP-2612 to B: only EIP-3009 (whose signature binds `to`) is offered.
    const offersB = await offersOf(fetch, 'http://market.test/b');
    expect(offersB.map((o) => [o.extra['assetTransferMethod'] ?? 'eip3009', o.payTo])).toEqual([['eip3009', sellerB]]);
    await expect(
      rail2612.quote(
        { rail: 'evm-eip2612', amount: PRICE, payTo: sellerB },
        {
          request: { method: 'GET', url: 'http://market.test/b', bodyHash: '' },
          resource: { url: 'http://market.test/b' },
          now: Date.now(),
        },
      ),
    ).rejects.toBeInstanceOf(ConfigurationError);
    // Nor can another rail or a permit authorizer bind the same spender to B.
    expect(() => evmEip2612Server(settlerOf(sellerB))).toThrow(/already pays/);
    expect(() => evmPermitAuthorizer(settlerOf(sellerB))).toThrow(/already pays/);

    const [offerA] = await offersOf(fetch, 'http://market.test/a');
    if (!offerA) throw new Error('no offer on A');
    const permit = await evmEip2612Client().createPayment(offerA, walletFor(devnet, 'payer2'), {
      resource: { url: 'http://market.test/a' },
      x402Version: 2,
      now: Date.now(),
    });
    const start = await balances();
    const nonce = await permitNonce();

    // On B's route, echoing A's offer or A's offer with B as payee: 402, the handler never runs.
    for (const accepted of [offerA, { ...offerA, payTo: sellerB }]) {
      const header = encodePaymentSignatureHeader({
        x402Version: 2,
        resource: { url: 'http://market.test/b' },
        accepted,
        payload: permit,
      });
      const res = await fetch('http://market.test/b', { headers: { 'PAYMENT-SIGNATURE': header } });
      expect(res.status).toBe(402);
      expect(await reasonOf(res)).toBe('challenge_invalid'); // neither is an offer this route made
    }
    // Straight to the rail with B's requirements (what a facilitator caller controls): refused at verify and settle.
    const reqB = { ...offerA, payTo: sellerB };
    const ctx = {
      request: { method: 'GET', url: 'http://market.test/b', bodyHash: '' },
      now: Date.now(),
      paymentId: 'x',
    };
    expect(await rail2612.verify(permit, reqB, ctx)).toMatchObject({ isValid: false, reason: 'payee_not_bound' });
    expect(await rail2612.settle(permit, reqB, ctx)).toMatchObject({ status: 'failed', reason: 'payee_not_bound' });
    expect(served).toEqual([]);
    expect(await balances()).toEqual(start);
    expect(await permitNonce()).toBe(nonce);

    // The permit pays the payee the payer chose, on A's route.
    const header = encodePaymentSignatureHeader({
      x402Version: 2,
      resource: { url: 'http://market.test/a' },
      accepted: offerA,
      payload: permit,
    });
    const paid = await fetch('http://market.test/a', { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(paid.status).toBe(200);
    expect(served).toEqual(['/a']);
    const end = await balances();
    expect(start.payer - end.payer).toBe(PRICE);
    expect(end.a - start.a).toBe(PRICE);
    expect(end.b).toBe(0n);
  });
});
