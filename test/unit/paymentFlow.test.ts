/**
 * The payment flow's one-payment-one-service rules at the unit level, on the fake rail (real fake-money ledger,
 * failure injection): a settlement refused after the handler ran (first try, on a pending retry, or by
 * reconciliation) is terminal; an infrastructure throw or a verify refusal frees the claim; an attempt that
 * lost its claim neither settles nor delivers; extensions' beforeReplay runs before the handler on a replay.
 */
import { describe, expect, it } from 'vitest';
import { RailUnavailableError } from '../../src/core/errors';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '../../src/protocol/headers';
import type { SettleResult } from '../../src/core/rail';
import type { SettlementOutcome } from '../../src/server/extensions';
import { paywall, type PaywallOptions } from '../../src/server/paywall';
import { createMemoryPaymentStore } from '../../src/stores/memoryPaymentStore';
import type { PaymentStore } from '../../src/stores/paymentStore';
import { createFakeLedger, fakeRail } from './support/fakeRail';

const URL_ = 'http://shop.test/single';

async function setup(options: Partial<PaywallOptions> = {}) {
  const ledger = createFakeLedger();
  const alice = ledger.open('alice', 1_000n);
  const inject: { settle?: () => SettleResult | undefined } = {};
  const rail = fakeRail({ ledger, payTo: 'merchant', beforeSettle: () => inject.settle?.() });
  const runs = { count: 0, clockOffset: 0, onHandler: (): void => undefined };
  const outcomes: SettlementOutcome[] = [];
  const store = options.store ?? createMemoryPaymentStore();
  const pw = paywall(
    { 'GET /single': { accepts: [{ rail: 'fake-exact', amount: 10n }] } },
    {
      rails: [rail],
      signer: await createReceiptSigner(),
      store,
      issuer: 'http://shop.test',
      now: () => Date.now() + runs.clockOffset,
      extensions: [{ name: 'observer', onSettlement: async (o) => void outcomes.push(o) }],
      ...options,
    },
  );
  const app = pw.wrap(() => {
    runs.count++;
    runs.onHandler();
    return Response.json({ ok: true });
  });
  const challenge = decodePaymentRequiredHeader((await app(new Request(URL_))).headers.get('PAYMENT-REQUIRED') ?? '');
  const offer = challenge.accepts[0];
  if (!offer) throw new Error('no offer');
  const header = encodePaymentSignatureHeader({
    x402Version: 2,
    accepted: offer,
    payload: await rail.createPayment(offer, alice, { resource: { url: URL_ }, x402Version: 2, now: Date.now() }),
  });
  const send = () => app(new Request(URL_, { headers: { 'PAYMENT-SIGNATURE': header } }));
  const reason = (res: Response) => decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error;
  return { ledger, inject, runs, outcomes, pw, send, reason, store };
}

describe('payment flow: one payment, one service', () => {
  it('a settlement left pending that then fails is terminal: its retry answers the rail reason, later ones payment_failed', async () => {
    const s = await setup();
    s.inject.settle = () => ({ status: 'pending', reference: 'tx-1', message: 'not confirmed' });
    expect((await s.send()).status).toBe(503);
    s.inject.settle = () => ({ status: 'failed', reason: 'settlement_reverted', message: 'reverted' });
    expect(s.reason(await s.send())).toBe('settlement_reverted');
    s.inject.settle = undefined;
    expect(s.reason(await s.send())).toBe('payment_failed');
    expect(s.runs.count).toBe(1);
    expect(s.ledger.transfers).toEqual([]);
    expect(s.outcomes.map((o) => o.outcome)).toEqual(['pending', 'failed']);
  });

  it('reconciliation that finds a pending settlement failed records it failed: the payment is not served again', async () => {
    const s = await setup();
    s.inject.settle = () => ({ status: 'pending', reference: 'tx-1', message: 'not confirmed' });
    expect((await s.send()).status).toBe(503);
    s.inject.settle = () => ({ status: 'failed', reason: 'settlement_reverted', message: 'reverted' });
    const report = await s.pw.reconcile();
    expect(report.failed).toHaveLength(1);
    expect(await s.pw.store.get(report.failed[0] ?? '')).toMatchObject({
      state: 'failed',
      reason: 'settlement_reverted',
    });
    s.inject.settle = undefined;
    expect(s.reason(await s.send())).toBe('payment_failed');
    expect(s.runs.count).toBe(1);
    expect(s.ledger.transfers).toEqual([]);
  });

  it('an infrastructure throw at settle frees the claim: the same payment is served and settled once later', async () => {
    const s = await setup();
    s.inject.settle = () => {
      throw new RailUnavailableError('node down', { rail: 'fake-exact' });
    };
    expect((await s.send()).status).toBe(503);
    s.inject.settle = undefined;
    expect((await s.send()).status).toBe(200);
    expect(s.runs.count).toBe(2);
    expect(s.ledger.transfers).toHaveLength(1);
    expect(s.outcomes.map((o) => o.outcome)).toEqual(['error', 'settled']);
  });

  it('an attempt whose claim is gone when it would settle answers 409 claim_lost and settles nothing', async () => {
    const inner = createMemoryPaymentStore();
    // The claim is lost behind the attempt's back (taken over after an outage) the moment it is checked.
    const store: PaymentStore = { ...inner, renew: async () => false };
    const s = await setup({ store, settleLeaseMs: 60_000 });
    // the handler outlasts the lease (the clock jumps past it): the claim is checked before settling
    s.runs.onHandler = () => {
      s.runs.clockOffset += 120_000;
    };
    const res = await s.send();
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'PAYMENT__CONFLICT', reason: 'claim_lost' });
    expect(s.ledger.transfers).toEqual([]);
    expect(s.outcomes.map((o) => [o.outcome, o.reason])).toEqual([['abandoned', 'claim_lost']]);
  });

  it('beforeReplay runs before the handler on a replay and may refuse it; { max: 0 } never serves a payment twice', async () => {
    const refusing = await setup({
      extensions: [
        { name: 'revoker', beforeReplay: async (ctx) => ctx.challenge({ reason: 'revoked', message: 'revoked' }) },
      ],
    });
    expect((await refusing.send()).status).toBe(200);
    expect(refusing.reason(await refusing.send())).toBe('revoked');
    expect(refusing.runs.count).toBe(1);

    const once = await setup({ replay: { max: 0 } });
    expect((await once.send()).status).toBe(200);
    const again = await once.send();
    expect(again.status).toBe(409);
    expect(again.headers.get('PAYMENT-RESPONSE')).not.toBeNull();
    expect(once.runs.count).toBe(1);
    expect(once.ledger.transfers).toHaveLength(1);
  });
});
