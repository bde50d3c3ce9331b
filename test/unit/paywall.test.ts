import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { payingFetch, type FetchLike, type PayingFetchOptions } from '../../src/client/payingFetch';
import { receiptOf } from '../../src/client/paymentOutcome';
import { createOriginStrikes } from '../../src/client/originStrikes';
import { NoAcceptableOfferError, RailUnavailableError, errorCodes } from '../../src/core/errors';
import {
  RECEIPT_EXTENSION_KEY,
  RECEIPT_JWKS_PATH,
  SignedReceiptSchema,
  type SignedReceipt,
} from '../../src/core/receipt/receipt';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { verifyReceipt } from '../../src/core/receipt/verifyReceipt';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  encodePaymentSignatureHeader,
} from '../../src/protocol/headers';
import type { PaymentRequired, PaymentRequirements } from '../../src/protocol/schemas';
import { paywall, type PaywallEvent } from '../../src/server/paywall';
import type { RoutesConfig } from '../../src/server/routes';
import { FAKE_ASSET, FAKE_NETWORK, createFakeLedger, fakeRail, type FakeWallet } from './support/fakeRail';

const ORIGIN = 'http://shop.test';
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('base64url');

const routes: RoutesConfig = {
  'GET /paid': {
    accepts: [
      { rail: 'fake-exact', amount: 10n },
      { rail: 'fake-b', amount: 20n, payTo: 'merchant-b' },
    ],
    description: 'two rails',
  },
  'GET /single': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
  'GET /other': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
  'POST /submit': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
  'GET /b-only': { accepts: [{ rail: 'fake-b', amount: 20n }] },
};

type Setup = Awaited<ReturnType<typeof setup>>;

type Injected = { settle?: 'throw' | 'pending' | 'failed'; verify?: 'throw' };

async function setup(options: { maxBodyBytes?: number; settleDelayMs?: number } = {}) {
  const ledger = createFakeLedger();
  const alice = ledger.open('alice', 1_000n);
  const broke = ledger.open('broke', 0n);
  const calls = { quote: 0, verify: 0, settle: 0 };
  const state = { failQuoteA: false, failQuoteB: false, clockOffset: 0, handlerStatus: 200, handlerCalls: 0 };
  const inject: Injected = {};
  const rail = fakeRail({
    ledger,
    calls,
    payTo: 'merchant',
    failQuote: () => state.failQuoteA,
    settleDelayMs: options.settleDelayMs ?? 0,
    beforeVerify: () => {
      if (inject.verify === 'throw') throw new RailUnavailableError('fake node unreachable', { rail: 'fake-exact' });
    },
    beforeSettle: () => {
      if (inject.settle === 'throw') throw new RailUnavailableError('fake node unreachable', { rail: 'fake-exact' });
      if (inject.settle === 'pending')
        return { status: 'pending', reference: 'fake-tx-pending', message: 'Broadcast, not confirmed yet.' };
      if (inject.settle === 'failed')
        return { status: 'failed', reason: 'nonce_already_used_on_chain', message: 'The chain refused it.' };
      return undefined;
    },
  });
  const railB = fakeRail({ ledger, id: 'fake-b', network: 'fakenet:2', failQuote: () => state.failQuoteB });
  const signer = await createReceiptSigner();
  const events: PaywallEvent[] = [];
  const pw = paywall(routes, {
    rails: [rail, railB],
    signer,
    now: () => Date.now() + state.clockOffset,
    onEvent: (e) => events.push(e),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  const app = pw.wrap(async (request) => {
    state.handlerCalls++;
    const body = request.method === 'POST' ? await request.text() : '';
    return Response.json(
      { ok: state.handlerStatus < 400, path: new URL(request.url).pathname, body },
      { status: state.handlerStatus },
    );
  });
  const fetchImpl: FetchLike = async (input, init) => app(new Request(input, init));
  const client = (extra: Partial<PayingFetchOptions> = {}) =>
    payingFetch(fetchImpl, { adapters: [rail], wallets: [alice], ...extra });
  return { ledger, alice, broke, calls, state, inject, rail, railB, signer, events, pw, app, fetchImpl, client };
}

async function challenge(s: Setup, path: string, init?: RequestInit): Promise<PaymentRequired> {
  const res = await s.app(new Request(`${ORIGIN}${path}`, init));
  expect(res.status).toBe(402);
  const header = res.headers.get('PAYMENT-REQUIRED');
  expect(header).not.toBeNull();
  return decodePaymentRequiredHeader(header ?? '');
}

async function payHeader(s: Setup, offer: PaymentRequirements, wallet: FakeWallet = s.alice): Promise<string> {
  const payload = await s.rail.createPayment(offer, wallet, {
    resource: { url: ORIGIN },
    x402Version: 2,
    now: Date.now(),
  });
  return encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload });
}

function first<T>(items: readonly T[]): T {
  const item = items[0];
  if (item === undefined) throw new Error('empty');
  return item;
}

async function signedReceiptOf(res: Response): Promise<SignedReceipt> {
  const header = res.headers.get('PAYMENT-RESPONSE');
  expect(header).not.toBeNull();
  const settle = decodePaymentResponseHeader(header ?? '');
  expect(settle.success).toBe(true);
  return SignedReceiptSchema.parse(settle.extensions?.[RECEIPT_EXTENSION_KEY]);
}

async function rejectionOf(res: Response): Promise<PaymentRequired> {
  expect(res.status).toBe(402);
  return decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
}

const untouched = (s: Setup) => {
  expect(s.ledger.transfers).toEqual([]);
  expect(s.ledger.balanceOf('alice')).toBe(1_000n);
  expect(s.calls.settle).toBe(0);
};

describe('paywall with a fake rail', () => {
  it('answers an unpaid request with a decodable 402, no-store, offers in route order each with a challenge', async () => {
    const s = await setup();
    const res = await s.app(new Request(`${ORIGIN}/paid?q=1`));
    expect(res.status).toBe(402);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-expose-headers')).toContain('PAYMENT-REQUIRED');
    const pr = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
    expect(pr.x402Version).toBe(2);
    expect(pr.error).toBeUndefined();
    expect(pr.resource).toEqual({ url: `${ORIGIN}/paid?q=1`, description: 'two rails' });
    expect(pr.accepts.map((o) => [o.network, o.amount, o.payTo, o.asset])).toEqual([
      [FAKE_NETWORK, '10', 'merchant', FAKE_ASSET],
      ['fakenet:2', '20', 'merchant-b', FAKE_ASSET],
    ]);
    const tokens = pr.accepts.map((o) => o.extra.challenge);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{16}\.[0-9]+\.[A-Za-z0-9_-]{43}$/);
    // one challenge id shared by the offers of one 402, different per 402
    expect(new Set(tokens.map((t) => String(t).split('.')[0])).size).toBe(1);
    const again = await challenge(s, '/paid?q=1');
    expect(again.accepts[0]?.extra.challenge).not.toBe(tokens[0]);
    // the JSON body carries the same challenge
    expect(await res.json()).toEqual(pr);
    expect(s.state.handlerCalls).toBe(0);
    expect(s.events.filter((e) => e.type === 'challenge')).toHaveLength(2);
  });

  it('pays via payingFetch: 200, PAYMENT-RESPONSE with a receipt bound to the POST request, money moved once', async () => {
    const s = await setup();
    const pay = s.client();
    const body = JSON.stringify({ question: 'what is 402?', n: [1, 2, 3] });
    const res = await pay(`${ORIGIN}/submit?lang=en`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, path: '/submit', body });
    expect(res.headers.get('access-control-expose-headers')).toContain('PAYMENT-RESPONSE');
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(settle).toMatchObject({
      success: true,
      network: FAKE_NETWORK,
      payer: 'alice',
      amount: '10',
      transaction: 'fake-tx-1',
    });
    const signed = await signedReceiptOf(res);
    const bound = { method: 'POST', url: `${ORIGIN}/submit?lang=en`, bodyHash: sha256(body) };
    const receipt = await verifyReceipt(signed, s.pw.jwks(), { request: bound, issuer: ORIGIN });
    expect(receipt).toMatchObject({
      rail: 'fake-exact',
      scheme: 'exact',
      network: FAKE_NETWORK,
      asset: FAKE_ASSET,
      amount: '10',
      payer: 'alice',
      payee: 'merchant',
      reference: 'fake-tx-1',
      status: 'settled',
      request: bound,
    });
    // the receipt names the challenge the payment answered
    const outcome = receiptOf(res);
    expect(outcome?.receipt).toEqual(receipt);
    expect(outcome?.signedReceipt).toEqual(signed);
    expect(outcome?.receiptError).toBeUndefined();
    expect(outcome?.rail).toBe('fake-exact');
    expect(String(outcome?.offer.extra.challenge).split('.')[0]).toBe(receipt.challenge);
    expect(s.ledger.transfers).toEqual([
      {
        paymentId: expect.stringMatching(/^alice:/),
        from: 'alice',
        to: 'merchant',
        amount: 10n,
        reference: 'fake-tx-1',
      },
    ]);
    expect(s.ledger.balanceOf('alice')).toBe(990n);
    expect(s.ledger.balanceOf('merchant')).toBe(10n);
    expect(s.calls.settle).toBe(1);
    expect(s.state.handlerCalls).toBe(1);
    // another body gets another bodyHash; the receipt does not verify against the first request
    await expect(
      verifyReceipt(signed, s.pw.jwks(), { request: { ...bound, bodyHash: sha256('other') } }),
    ).rejects.toThrow(/another request/);
  });

  it('receiptOf is undefined for a free request, and the GET receipt binds the empty body', async () => {
    const s = await setup();
    const pay = s.client();
    const free = await pay(`${ORIGIN}/free`);
    expect(free.status).toBe(200);
    expect(receiptOf(free)).toBeUndefined();
    const res = await pay(`${ORIGIN}/single`);
    expect(res.status).toBe(200);
    expect(receiptOf(res)?.receipt?.request).toEqual({ method: 'GET', url: `${ORIGIN}/single`, bodyHash: sha256('') });
  });

  it.each<[string, string, string]>([
    ['not base64', '%%%not base64%%%', errorCodes.HEADER_BAD_BASE64],
    ['not JSON', Buffer.from('{oops').toString('base64'), errorCodes.HEADER_BAD_JSON],
    [
      'wrong shape',
      Buffer.from(JSON.stringify({ x402Version: 2, accepted: { amount: 1.5 } })).toString('base64'),
      errorCodes.HEADER_SCHEMA,
    ],
    ['too deep', Buffer.from('['.repeat(5000)).toString('base64'), errorCodes.HEADER_TOO_DEEP],
    ['too large', 'A'.repeat(40_000), errorCodes.HEADER_TOO_LARGE],
  ])('answers a malformed PAYMENT-SIGNATURE (%s) with 400 JSON and its code', async (_label, header, code) => {
    const s = await setup();
    const res = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body: unknown = await res.json();
    expect(body).toMatchObject({ error: 'MalformedInputError', code });
    expect(s.state.handlerCalls).toBe(0);
    untouched(s);
  });

  it.each<[string, (o: PaymentRequirements) => PaymentRequirements]>([
    ['a lowered amount', (o) => ({ ...o, amount: '1' })],
    ['another payTo', (o) => ({ ...o, payTo: 'mallory' })],
    ['a longer timeout', (o) => ({ ...o, maxTimeoutSeconds: 3600 })],
    ['an extra field added', (o) => ({ ...o, extra: { ...o.extra, discount: true } })],
    [
      'a forged challenge mac',
      (o) => ({
        ...o,
        extra: { ...o.extra, challenge: String(o.extra.challenge).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) },
      }),
    ],
  ])('refuses an echoed offer with %s: 402 challenge_invalid, no money moved', async (_label, alter) => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, alter(offer)); // correctly signed for the altered offer
    const res = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    const pr = await rejectionOf(res);
    expect(pr.error).toBe('challenge_invalid');
    expect(pr.extensions?.['x402-rails/rejection']).toMatchObject({ reason: 'challenge_invalid' });
    expect(pr.accepts).toHaveLength(1); // a fresh challenge comes with it
    expect(s.state.handlerCalls).toBe(0);
    expect(s.calls.verify).toBe(0);
    untouched(s);
  });

  it('refuses an offer without a challenge (challenge_missing)', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const { challenge: _c, ...extra } = offer.extra;
    const res = await s.app(
      new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': await payHeader(s, { ...offer, extra }) } }),
    );
    expect((await rejectionOf(res)).error).toBe('challenge_missing');
    untouched(s);
  });

  it('refuses a challenge made for another route or another URL of the same route', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/other')).accepts);
    const header = await payHeader(s, offer);
    const res = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect((await rejectionOf(res)).error).toBe('challenge_invalid');
    const res2 = await s.app(
      new Request(`${ORIGIN}/other?different=query`, { headers: { 'PAYMENT-SIGNATURE': header } }),
    );
    expect((await rejectionOf(res2)).error).toBe('challenge_invalid');
    untouched(s);
    // and it still works where it was made for
    const ok = await s.app(new Request(`${ORIGIN}/other`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(ok.status).toBe(200);
  });

  it('refuses an expired challenge (challenge_expired)', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    s.state.clockOffset = (offer.maxTimeoutSeconds + 2) * 1000;
    const res = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect((await rejectionOf(res)).error).toBe('challenge_expired');
    untouched(s);
    // just before expiry it is accepted
    s.state.clockOffset = 0;
    const fresh = first((await challenge(s, '/single')).accepts);
    s.state.clockOffset = (fresh.maxTimeoutSeconds - 2) * 1000;
    const ok = await s.app(
      new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': await payHeader(s, fresh) } }),
    );
    expect(ok.status).toBe(200);
  });

  it('does not settle when the handler fails, releases the claim, and the same payment succeeds later', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    s.state.handlerStatus = 500;
    const failed = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(failed.status).toBe(500);
    expect(failed.headers.get('PAYMENT-RESPONSE')).toBeNull();
    untouched(s);
    s.state.handlerStatus = 200;
    const ok = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(ok.status).toBe(200);
    await verifyReceipt(await signedReceiptOf(ok), s.pw.jwks());
    expect(s.ledger.transfers).toHaveLength(1);
    expect(s.ledger.balanceOf('alice')).toBe(990n);
  });

  it('a retry of the same paid request gets the same receipt and is charged once', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    const one = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    const two = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect([one.status, two.status]).toEqual([200, 200]);
    const [r1, r2] = [await signedReceiptOf(one), await signedReceiptOf(two)];
    expect(r2.id).toBe(r1.id);
    expect(r2).toEqual(r1);
    expect(s.ledger.transfers).toHaveLength(1);
    expect(s.calls.settle).toBe(1);
    expect(s.events.filter((e) => e.type === 'replayed')).toHaveLength(1);
  });

  it('refuses the same payment on another request (another body) with payment_already_used', async () => {
    const s = await setup();
    const init = { method: 'POST', body: 'first body' };
    const offer = first((await challenge(s, '/submit', init)).accepts);
    const header = await payHeader(s, offer);
    const ok = await s.app(new Request(`${ORIGIN}/submit`, { ...init, headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(ok.status).toBe(200);
    const handlerCalls = s.state.handlerCalls;
    const reused = await s.app(
      new Request(`${ORIGIN}/submit`, {
        method: 'POST',
        body: 'second body',
        headers: { 'PAYMENT-SIGNATURE': header },
      }),
    );
    expect((await rejectionOf(reused)).error).toBe('payment_already_used');
    expect(s.state.handlerCalls).toBe(handlerCalls);
    expect(s.ledger.transfers).toHaveLength(1);
  });

  it('settles exactly once when the same payment arrives 20 times at once', async () => {
    const s = await setup({ settleDelayMs: 30 });
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } })),
      ),
    );
    expect(s.ledger.transfers).toHaveLength(1);
    expect(s.ledger.balanceOf('alice')).toBe(990n);
    expect(s.calls.settle).toBe(1);
    const ids = new Set<string>();
    let ok = 0;
    for (const res of responses) {
      // every answer carries the one receipt: 200 for the first serving and the 3 replays the bound admits,
      // 409 replay_limit_reached (no service) for the 16 others
      ids.add((await signedReceiptOf(res)).id);
      if (res.status === 200) ok++;
      else {
        expect(res.status).toBe(409);
        expect(await res.json()).toMatchObject({ code: 'PAYMENT__CONFLICT', reason: 'replay_limit_reached' });
      }
    }
    expect(ok).toBe(4);
    expect(s.state.handlerCalls).toBe(4);
    expect(ids.size).toBe(1);
  });

  it('a rail outage during settle answers 503, moves no money and frees the payment for a retry', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    s.inject.settle = 'throw';
    const down = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).not.toBeNull();
    expect(await down.json()).toMatchObject({ code: errorCodes.RAIL_UNAVAILABLE });
    expect(s.ledger.transfers).toEqual([]);
    const nonce = decodePaymentSignatureHeader(header).payload.nonce;
    expect(typeof nonce).toBe('string');
    expect(await s.pw.store.get(`fake-exact:alice:${String(nonce)}`)).toBeUndefined(); // the claim was released
    s.inject.settle = undefined;
    const ok = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(ok.status).toBe(200);
    expect(s.ledger.transfers).toHaveLength(1);
  });

  it('a rail outage during verify answers 503 without running the handler', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    s.inject.verify = 'throw';
    const down = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(down.status).toBe(503);
    expect(s.state.handlerCalls).toBe(0);
    s.inject.verify = undefined;
    expect((await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }))).status).toBe(
      200,
    );
  });

  it('a pending settlement answers 503 settlement_pending, is recorded, and a retry reconciles it through the idempotent settle, paying once', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    s.inject.settle = 'pending';
    const pending = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(pending.status).toBe(503);
    expect(await pending.json()).toMatchObject({
      code: errorCodes.SETTLEMENT_PENDING,
      reason: 'settlement_pending',
      details: { reference: 'fake-tx-pending' },
    });
    expect(await s.pw.store.listPending()).toEqual([
      {
        paymentId: expect.stringMatching(/^fake-exact:alice:/),
        record: expect.objectContaining({ state: 'pending', reference: 'fake-tx-pending', rail: 'fake-exact' }),
      },
    ]);
    // Still unconfirmed on the next retry: still pending, the same reference.
    const still = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(still.status).toBe(503);
    expect(await still.json()).toMatchObject({ details: { reference: 'fake-tx-pending' } });
    expect(s.ledger.transfers).toEqual([]);
    // Confirmed: the retry gets the receipt; the money moved once.
    s.inject.settle = undefined;
    const retry = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(retry.status).toBe(200);
    expect(s.ledger.transfers).toHaveLength(1);
    const again = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(again.status).toBe(200);
    expect(again.headers.get('PAYMENT-RESPONSE')).toBe(retry.headers.get('PAYMENT-RESPONSE'));
    expect(s.calls.settle).toBe(3);
    expect(s.ledger.transfers).toHaveLength(1);
    expect(await s.pw.store.listPending()).toEqual([]);
  });

  it('a settlement the rail refuses answers 402 with its reason and records the payment failed for good', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const header = await payHeader(s, offer);
    s.inject.settle = 'failed';
    const refused = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect((await rejectionOf(refused)).error).toBe('nonce_already_used_on_chain');
    expect(refused.headers.get('PAYMENT-RESPONSE')).toBeNull();
    expect(s.ledger.transfers).toEqual([]);
    expect(await s.pw.store.listPending()).toEqual([]);
    // its handler ran once: the same payment is never served again, even once the rail would take it
    s.inject.settle = undefined;
    const again = await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect((await rejectionOf(again)).error).toBe('payment_failed');
    expect(s.state.handlerCalls).toBe(1);
    expect(s.ledger.transfers).toEqual([]);
  });

  it('surfaces the rail verification reason as PaymentRequired.error', async () => {
    const s = await setup();
    const offer = first((await challenge(s, '/single')).accepts);
    const res = await s.app(
      new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': await payHeader(s, offer, s.broke) } }),
    );
    const pr = await rejectionOf(res);
    expect(pr.error).toBe('insufficient_funds');
    expect(pr.extensions?.['x402-rails/rejection']).toMatchObject({
      reason: 'insufficient_funds',
      message: expect.stringContaining('broke'),
    });
    // a forged signature
    const payload = await s.rail.createPayment(offer, s.alice, {
      resource: { url: ORIGIN },
      x402Version: 2,
      now: Date.now(),
    });
    const forged = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: offer,
      payload: { ...payload, sig: '00'.repeat(32) },
    });
    expect(
      (await rejectionOf(await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': forged } }))))
        .error,
    ).toBe('invalid_signature');
    // a payload the rail cannot parse at all
    const garbage = encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload: { nonsense: true } });
    expect(
      (await rejectionOf(await s.app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': garbage } }))))
        .error,
    ).toBe('invalid_payload');
    expect(s.state.handlerCalls).toBe(0);
    untouched(s);
    // the failed verification released the claim: the payer can still use that nonce once funded
  });

  it('leaves out an offer whose rail cannot quote, and answers 503 when none can', async () => {
    const s = await setup();
    s.state.failQuoteB = true;
    const pr = await challenge(s, '/paid');
    expect(pr.accepts.map((o) => o.network)).toEqual([FAKE_NETWORK]);
    s.state.failQuoteA = true;
    const res = await s.app(new Request(`${ORIGIN}/paid`));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(await res.json()).toMatchObject({ code: errorCodes.RAIL_UNAVAILABLE });
    expect(res.headers.get('PAYMENT-REQUIRED')).toBeNull();
  });

  it('answers 413 to a body larger than maxBodyBytes, declared or streamed', async () => {
    const s = await setup({ maxBodyBytes: 1024 });
    const big = 'x'.repeat(2048);
    const declared = await s.app(
      new Request(`${ORIGIN}/submit`, { method: 'POST', body: big, headers: { 'content-length': String(big.length) } }),
    );
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ code: errorCodes.BODY_TOO_LARGE });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(512));
        controller.close();
      },
    });
    const streamed = await s.app(
      new Request(`${ORIGIN}/submit`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    const small = await s.app(new Request(`${ORIGIN}/submit`, { method: 'POST', body: 'x'.repeat(1024) }));
    expect(small.status).toBe(402);
    expect(s.state.handlerCalls).toBe(0);
  });

  it('serves the receipt JWKS at its well-known path', async () => {
    const s = await setup();
    expect(RECEIPT_JWKS_PATH).toBe('/.well-known/x402-rails/jwks.json');
    const res = await s.app(new Request(`${ORIGIN}/.well-known/x402-rails/jwks.json`));
    expect(res.status).toBe(200);
    const jwks: unknown = await res.json();
    expect(jwks).toEqual(s.signer.jwks());
    expect(jwks).toEqual(s.pw.jwks());
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });

  it('passes unpaid routes (and other methods of paid paths) straight through', async () => {
    const s = await setup();
    for (const [path, method] of [
      ['/free', 'GET'],
      ['/paid/deeper', 'GET'],
      ['/paid', 'POST'],
      ['/submit', 'GET'],
    ] as const) {
      const res = await s.app(new Request(`${ORIGIN}${path}`, { method, ...(method === 'POST' ? { body: 'b' } : {}) }));
      expect(res.status, `${method} ${path}`).toBe(200);
      expect(res.headers.get('PAYMENT-REQUIRED')).toBeNull();
      expect(res.headers.get('PAYMENT-RESPONSE')).toBeNull();
    }
    expect(s.state.handlerCalls).toBe(4);
    expect(s.calls.quote).toBe(0);
  });

  it('client: a policy forbidding the only offer throws NoAcceptableOfferError with the reason, nothing paid', async () => {
    const s = await setup();
    const pay = s.client({ policy: { networks: { deny: [FAKE_NETWORK] } } });
    let error: unknown;
    try {
      await pay(`${ORIGIN}/single`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NoAcceptableOfferError);
    if (!(error instanceof NoAcceptableOfferError)) return;
    expect(error.rejections).toEqual([
      expect.objectContaining({ index: 0, reason: 'network_denied', network: FAKE_NETWORK, amount: '10' }),
    ]);
    expect(error.message).toContain('network_denied');
    expect(error.message).toContain('nothing was paid');
    untouched(s);
    expect(s.state.handlerCalls).toBe(0);
    // per-request cap below the price
    await expect(
      s.client({ policy: { maxPerRequest: { [FAKE_ASSET]: 9n } } })(`${ORIGIN}/single`),
    ).rejects.toMatchObject({
      rejections: [expect.objectContaining({ reason: 'over_request_cap' })],
    });
    // a rail the client lacks
    await expect(s.client()(`${ORIGIN}/b-only`)).rejects.toMatchObject({
      rejections: [expect.objectContaining({ reason: 'no_adapter' })],
    });
    untouched(s);
  });

  it('client: a budget shared by 10 concurrent requests pays exactly floor(limit/price)', async () => {
    const s = await setup();
    const pay = s.client({ policy: { budgets: [{ asset: FAKE_ASSET, limit: 35n, window: 'total' }] } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => pay(`${ORIGIN}/single`)));
    const paid = results.filter((r) => r.status === 'fulfilled' && r.value.status === 200);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(paid).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.status === 'rejected' && r.reason).toBeInstanceOf(NoAcceptableOfferError);
      expect(r.status === 'rejected' && r.reason).toMatchObject({
        rejections: [expect.objectContaining({ reason: 'budget_exceeded' })],
      });
    }
    expect(s.ledger.transfers).toHaveLength(3);
    expect(s.ledger.balanceOf('alice')).toBe(970n);
  });

  it('client: a payment the server refuses stays counted in the budget and strikes the origin', async () => {
    // Before #12 the hold was released on a 402, as if no money could have moved: but the server holds a signed
    // payment it may still settle, so the budget keeps it (the old assertion was the bug).
    const s = await setup();
    const strikes = createOriginStrikes();
    const pay = payingFetch(s.fetchImpl, {
      adapters: [s.rail],
      wallets: [s.broke],
      policy: { budgets: [{ asset: FAKE_ASSET, limit: 10n, window: 'total' }] },
      strikes,
    });
    const res = await pay(`${ORIGIN}/single`);
    expect((await rejectionOf(res)).error).toBe('insufficient_funds');
    expect(receiptOf(res)?.receipt).toBeUndefined();
    expect(receiptOf(res)?.refused).toMatchObject({
      code: 'CLIENT__PAYMENT__REFUSED_BY_SERVER',
      refused: { status: 402, reason: 'insufficient_funds', amount: '10' },
    });
    // the origin is suspended: nothing is paid until the user resets it
    s.ledger.balances.set('broke', 10n);
    await expect(pay(`${ORIGIN}/single`)).rejects.toMatchObject({
      name: 'OriginSuspendedError',
      code: 'CLIENT__ORIGIN__SUSPENDED',
    });
    strikes.reset(ORIGIN);
    // the budget still counts the refused payment: the full limit is used
    await expect(pay(`${ORIGIN}/single`)).rejects.toMatchObject({
      name: 'NoAcceptableOfferError',
      rejections: [{ reason: 'budget_exceeded' }],
    });
    expect(s.ledger.transfers).toHaveLength(0);
  });
});
