import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NoAcceptableOfferError,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  payingFetch,
  receiptOf,
  verifyReceipt,
  type ClientRail,
  type PaymentRequirements,
} from '../../src/index';
import { evmEip2612Client, evmEip3009Client, evmClients } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { PRICE, evmPaywall, walletFor } from '../support/evmHarness';
import type { FetchLike, Paywall } from '../../src/index';

const BASE = 'http://shop.test';
let devnet: EvmDevnet;
let pw: Paywall;
let serverFetch: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  ({ pw, fetch: serverFetch } = await evmPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

async function challenge(path: string, init?: RequestInit): Promise<PaymentRequirements> {
  const res = await serverFetch(`${BASE}${path}`, init);
  expect(res.status).toBe(402);
  const offer = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  if (!offer) throw new Error('no offer');
  return offer;
}

/** Pays `path` by hand: signs against `signedOffer` (defaults to the real one), optionally edits the payload, echoes the real offer. */
async function payByHand(
  path: string,
  options: {
    rail?: ClientRail;
    signedOffer?: (o: PaymentRequirements) => PaymentRequirements;
    edit?: (p: Record<string, unknown>) => void;
    wallet?: 'payer' | 'payer2' | 'poor';
    now?: number;
  } = {},
): Promise<{
  res: Response;
  reason: string | undefined;
  payload: Record<string, unknown>;
  offer: PaymentRequirements;
}> {
  const offer = await challenge(path);
  const rail = options.rail ?? evmEip3009Client();
  const payload = await rail.createPayment(
    options.signedOffer ? options.signedOffer(offer) : offer,
    walletFor(devnet, options.wallet ?? 'payer'),
    {
      resource: { url: `${BASE}${path}` },
      x402Version: 2,
      now: options.now ?? Date.now(),
    },
  );
  options.edit?.(payload);
  const res = await sendPayment(path, offer, payload);
  return { res, reason: reasonOf(res), payload, offer };
}

function sendPayment(path: string, offer: PaymentRequirements, payload: Record<string, unknown>): Promise<Response> {
  return serverFetch(`${BASE}${path}`, {
    headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload }) },
  });
}

function reasonOf(res: Response): string | undefined {
  const header = res.headers.get('PAYMENT-REQUIRED');
  return header ? decodePaymentRequiredHeader(header).error : undefined;
}

describe('EVM rail on anvil', () => {
  it('pays with EIP-3009 end to end and returns a verified receipt bound to the request', async () => {
    const before = await balances();
    const pay = payingFetch(serverFetch, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay(`${BASE}/paid/3009`);
    expect(res.status).toBe(200);
    const outcome = receiptOf(res);
    expect(outcome?.rail).toBe('evm-eip3009');
    expect(outcome?.receiptError).toBeUndefined();
    const receipt = outcome?.receipt;
    expect(receipt).toMatchObject({
      rail: 'evm-eip3009',
      scheme: 'exact',
      network: devnet.network,
      amount: PRICE.toString(),
      status: 'settled',
    });
    expect(receipt?.payer.toLowerCase()).toBe(devnet.accounts.payer.address.toLowerCase());
    expect(receipt?.payee.toLowerCase()).toBe(devnet.accounts.payee.address.toLowerCase());
    expect(receipt?.request).toMatchObject({ method: 'GET', url: `${BASE}/paid/3009` });
    const tx = await devnet.publicClient.getTransactionReceipt({ hash: receipt?.reference as `0x${string}` });
    expect(tx.status).toBe('success');
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    await expect(
      verifyReceipt(outcome?.signedReceipt, pw.jwks(), { request: { method: 'GET', url: `${BASE}/paid/3009` } }),
    ).resolves.toBeTruthy();
  });

  it('pays with EIP-2612 permit end to end', async () => {
    const before = await balances();
    const pay = payingFetch(serverFetch, { adapters: [evmEip2612Client()], wallets: [walletFor(devnet, 'payer')] });
    const res = await pay(`${BASE}/paid/2612`);
    expect(res.status).toBe(200);
    expect(receiptOf(res)?.receipt).toMatchObject({ rail: 'evm-eip2612', amount: PRICE.toString() });
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });

  it('binds the body of a POST and follows the client preference between methods', async () => {
    const pay = payingFetch(serverFetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      prefer: ['evm-eip2612'],
    });
    const res = await pay(`${BASE}/paid/both`, { method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ body: 'hello' });
    const receipt = receiptOf(res)?.receipt;
    expect(receipt?.rail).toBe('evm-eip2612');
    expect(receipt?.request.bodyHash).toBe(
      Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('hello'))).toString('base64url'),
    );
  });

  it('answers a malformed payment header with 400 and moves nothing', async () => {
    const before = await balances();
    const res = await serverFetch(`${BASE}/paid/3009`, { headers: { 'PAYMENT-SIGNATURE': '%%%not-base64%%%' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'PROTOCOL__HEADER__BAD_BASE64' });
    expect(await balances()).toEqual(before);
  });

  const rejections: Array<[string, Parameters<typeof payByHand>[1], string]> = [
    ['wrong amount', { signedOffer: (o) => ({ ...o, amount: '1' }) }, 'amount_mismatch'],
    [
      'wrong payee',
      { signedOffer: (o) => ({ ...o, payTo: '0x000000000000000000000000000000000000dEaD' }) },
      'payee_mismatch',
    ],
    ['wrong chain id', { signedOffer: (o) => ({ ...o, network: 'eip155:1' }) }, 'invalid_signature'],
    ['wrong token', { signedOffer: (o) => ({ ...o, asset: devnet.otherToken.address }) }, 'invalid_signature'],
    [
      'wrong EIP-712 domain name',
      { signedOffer: (o) => ({ ...o, extra: { ...o.extra, name: 'USD Coin' } }) },
      'invalid_signature',
    ],
    ['expired', { now: Date.now() - 3_600_000 }, 'expired'],
    ['not yet valid', { now: Date.now() + 3_600_000 }, 'not_yet_valid'],
    [
      'signature from another key',
      {
        wallet: 'payer2',
        edit: (p) => ((p.authorization as Record<string, unknown>).from = devnet.accounts.payer.address),
      },
      'invalid_signature',
    ],
    ['insufficient balance', { wallet: 'poor' }, 'insufficient_funds'],
    [
      'malformed payload fields',
      { edit: (p) => ((p.authorization as Record<string, unknown>).value = '1.5') },
      'invalid_payload',
    ],
  ];
  for (const [name, options, reason] of rejections) {
    it(`rejects ${name} with 402 "${reason}" and moves no money`, async () => {
      const before = await balances();
      const { res, reason: got } = await payByHand('/paid/3009', options);
      expect(res.status).toBe(402);
      expect(got).toBe(reason);
      expect(res.headers.get('PAYMENT-RESPONSE')).toBeNull();
      expect(await balances()).toEqual(before);
    });
  }

  it('rejects an altered offer (challenge) and an offer replayed on another route', async () => {
    const altered = await payByHand('/paid/3009', { signedOffer: (o) => o });
    expect(altered.res.status).toBe(200);
    const offer = await challenge('/paid/3009');
    const payload = await evmEip3009Client().createPayment(offer, walletFor(devnet, 'payer'), {
      resource: { url: '' },
      x402Version: 2,
      now: Date.now(),
    });
    const cheap = await sendPayment('/paid/3009', { ...offer, amount: '1' }, payload);
    expect(reasonOf(cheap)).toBe('challenge_invalid');
    const otherRoute = await sendPayment('/paid/other', offer, payload);
    expect(reasonOf(otherRoute)).toBe('challenge_invalid');
  });

  it('refuses a reused nonce: the same payment for another request is refused, a retry of the same request gets the same receipt', async () => {
    const before = await balances();
    const first = await payByHand('/paid/3009');
    expect(first.res.status).toBe(200);
    const again = await sendPayment('/paid/3009', first.offer, first.payload);
    expect(again.status).toBe(200);
    expect(again.headers.get('PAYMENT-RESPONSE')).toBe(first.res.headers.get('PAYMENT-RESPONSE'));
    const elsewhere = await serverFetch(`${BASE}/paid/3009?x=1`, {
      headers: {
        'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
          x402Version: 2,
          accepted: first.offer,
          payload: first.payload,
        }),
      },
    });
    expect(elsewhere.status).toBe(402);
    expect(['payment_already_used', 'challenge_invalid']).toContain(reasonOf(elsewhere));
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });

  it('rejects a nonce already used on chain by someone else with "nonce_used"', async () => {
    const offer = await challenge('/paid/3009');
    const payload = await evmEip3009Client().createPayment(offer, walletFor(devnet, 'payer'), {
      resource: { url: '' },
      x402Version: 2,
      now: Date.now(),
    });
    const a = payload.authorization as Record<string, string>;
    // The payer spends the authorization directly (a front-run): the server must not serve it.
    const { v, r, s } = await import('viem').then(({ parseSignature }) =>
      parseSignature(payload.signature as `0x${string}`),
    );
    const { exactTokenAbi } = await import('../../adapters/evm/index');
    const hash = await devnet.walletClientFor('payer2').writeContract({
      address: devnet.token.address,
      abi: exactTokenAbi,
      functionName: 'transferWithAuthorization',
      args: [
        a.from as `0x${string}`,
        a.to as `0x${string}`,
        BigInt(a.value ?? 0),
        BigInt(a.validAfter ?? 0),
        BigInt(a.validBefore ?? 0),
        a.nonce as `0x${string}`,
        Number(v),
        r,
        s,
      ],
    });
    await devnet.publicClient.waitForTransactionReceipt({ hash });
    const res = await sendPayment('/paid/3009', offer, payload);
    expect(res.status).toBe(402);
    expect(reasonOf(res)).toBe('nonce_used');
  });

  it('settles the same payment sent 10 times concurrently exactly once', async () => {
    const before = await balances();
    const offer = await challenge('/paid/3009');
    const payload = await evmEip3009Client().createPayment(offer, walletFor(devnet, 'payer'), {
      resource: { url: '' },
      x402Version: 2,
      now: Date.now(),
    });
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendPayment('/paid/3009', offer, payload)));
    // served once plus the replay bound (3); the others get 409 replay_limit_reached, all with the one receipt
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 409, 409, 409, 409, 409, 409]);
    expect(new Set(answers.map((r) => r.headers.get('PAYMENT-RESPONSE'))).size).toBe(1);
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });

  it('does not settle when the handler fails', async () => {
    const before = await balances();
    const pay = payingFetch(serverFetch, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay(`${BASE}/paid/fails`);
    expect(res.status).toBe(500);
    expect(res.headers.get('PAYMENT-RESPONSE')).toBeNull();
    expect(await balances()).toEqual(before);
  });

  it('pays nothing when the client policy forbids the only offer', async () => {
    const before = await balances();
    const pay = payingFetch(serverFetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      policy: { maxPerRequest: { [devnet.token.address]: 1n } },
    });
    const error = await pay(`${BASE}/paid/3009`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoAcceptableOfferError);
    expect((error as NoAcceptableOfferError).rejections[0]?.reason).toBe('over_request_cap');
    const denied = payingFetch(serverFetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      policy: { networks: { deny: [devnet.network] } },
    });
    await expect(denied(`${BASE}/paid/3009`)).rejects.toMatchObject({ rejections: [{ reason: 'network_denied' }] });
    expect(await balances()).toEqual(before);
  });

  it('settles EIP-3009 and EIP-2612 payments at once from one gas account without a nonce race (one submit queue per account)', async () => {
    const payee = await devnet.balanceOf(devnet.accounts.payee.address);
    const eip3009 = payingFetch(serverFetch, { adapters: [evmEip3009Client()], wallets: [walletFor(devnet, 'payer')] });
    const eip2612 = payingFetch(serverFetch, {
      adapters: [evmEip2612Client()],
      wallets: [walletFor(devnet, 'payer2')],
    });
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => eip3009(`${BASE}/paid/3009`)),
      eip2612(`${BASE}/paid/2612`),
    ]);
    expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 9 }, () => 200));
    expect((await devnet.balanceOf(devnet.accounts.payee.address)) - payee).toBe(PRICE * 9n);
  });

  it('never overspends a budget across concurrent requests', async () => {
    const before = await balances();
    const pay = payingFetch(serverFetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      policy: { budgets: [{ asset: devnet.token.address, limit: PRICE * 3n, window: 'hour' }] },
    });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => pay(`${BASE}/paid/3009`)));
    const ok = results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length;
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof NoAcceptableOfferError).length;
    expect(ok).toBe(3);
    expect(refused).toBe(5);
    expect(before.payer - (await balances()).payer).toBe(PRICE * 3n);
  });
});
