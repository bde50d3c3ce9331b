/**
 * paywallOperations: health, readiness (store and named checks, draining), Prometheus metrics fed by the paywall's
 * events, and a graceful drain that waits for a paid request's settlement to finish. In-process, on the fake rail.
 */
import { describe, expect, it } from 'vitest';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '../../src/protocol/headers';
import { riskControls } from '../../src/risk/riskControls';
import { paywallOperations } from '../../src/server/operations';
import { paywall } from '../../src/server/paywall';
import { createMemoryPaymentStore } from '../../src/stores/memoryPaymentStore';
import type { PaymentStore } from '../../src/stores/paymentStore';
import { createFakeLedger, fakeRail } from './support/fakeRail';

const ORIGIN = 'http://shop.test';

async function setup(options: { store?: PaymentStore; checks?: Record<string, () => Promise<unknown>> } = {}) {
  const ledger = createFakeLedger();
  const alice = ledger.open('alice', 1_000n);
  const rail = fakeRail({ ledger, payTo: 'merchant' });
  const store = options.store ?? createMemoryPaymentStore();
  const risk = riskControls();
  const ops = paywallOperations({
    store,
    breakers: () => risk.breakers(),
    checkTimeoutMs: 200,
    ...(options.checks ? { checks: options.checks } : {}),
  });
  const pw = paywall(
    { 'GET /paid': { accepts: [{ rail: 'fake-exact', amount: 10n }] } },
    {
      rails: [rail],
      signer: await createReceiptSigner(),
      store,
      issuer: ORIGIN,
      onEvent: ops.onEvent,
      extensions: [risk],
    },
  );
  let release: () => void = () => undefined;
  let gate: Promise<void> | undefined;
  const app = ops.wrap(
    pw.wrap(async () => {
      await gate;
      return Response.json({ ok: true });
    }),
  );
  const pay = async () => {
    const offer = decodePaymentRequiredHeader(
      (await app(new Request(`${ORIGIN}/paid`))).headers.get('PAYMENT-REQUIRED') ?? '',
    ).accepts[0];
    if (!offer) throw new Error('no offer');
    const payload = await rail.createPayment(offer, alice, {
      resource: { url: `${ORIGIN}/paid` },
      x402Version: 2,
      now: Date.now(),
    });
    return app(
      new Request(`${ORIGIN}/paid`, {
        headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload }) },
      }),
    );
  };
  const hold = () => {
    gate = new Promise((resolve) => (release = resolve));
  };
  return { app, ops, pay, ledger, hold, release: () => release() };
}

describe('paywall operations', () => {
  it('health answers; readiness checks the store and every named check within its timeout', async () => {
    const s = await setup({ checks: { rpc: async () => 1 } });
    expect((await s.app(new Request(`${ORIGIN}/healthz`))).status).toBe(200);
    const ready = await s.app(new Request(`${ORIGIN}/readyz`));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    const down = await setup({
      checks: {
        rpc: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:8545 key=secret')),
        slow: () => new Promise(() => undefined),
      },
      store: { ...createMemoryPaymentStore(), get: () => Promise.reject(new Error('redis down')) },
    });
    const notReady = await down.app(new Request(`${ORIGIN}/readyz`));
    expect(notReady.status).toBe(503);
    const body = await notReady.text();
    expect(JSON.parse(body)).toEqual({
      status: 'unavailable',
      failed: { store: 'Error', rpc: 'Error', slow: 'Error' },
    });
    expect(body).not.toContain('secret'); // an error's message stays out of the answer
  });

  it('metrics count payments by rail and outcome, time paid requests, and report pending and breakers', async () => {
    const s = await setup();
    expect((await s.pay()).status).toBe(200);
    await s.app(new Request(`${ORIGIN}/paid`, { headers: { 'PAYMENT-SIGNATURE': 'not base64 json' } }));
    const text = await (await s.app(new Request(`${ORIGIN}/metrics`))).text();
    expect(text).toContain('x402_payments_total{rail="fake-exact",outcome="settled"} 1');
    expect(text).toMatch(/x402_paid_request_duration_seconds_count\{outcome="paid"\} 1\n/);
    expect(text).toMatch(/x402_paid_request_duration_seconds_bucket\{outcome="paid",le="\+Inf"\} 1\n/);
    expect(text).toMatch(/x402_paid_request_duration_seconds_count\{outcome="400"\} 1\n/);
    expect(text).toContain('x402_pending_payments 0');
    expect(text).toContain('x402_in_flight_requests 0');
    expect(text).toContain('x402_breaker_state{rail="fake-exact"} 0');
  });

  it('drain: readiness turns 503 at once, and it resolves only after the settlement in flight has answered', async () => {
    const s = await setup();
    s.hold();
    const paying = s.pay();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the paid request is inside its handler
    let drained: { drained: boolean; inFlight: number } | undefined;
    const draining = s.ops.drain(5_000).then((r) => (drained = r));
    expect((await s.app(new Request(`${ORIGIN}/readyz`))).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drained).toBeUndefined();
    expect(s.ledger.transfers).toHaveLength(0);
    s.release();
    const answer = await paying;
    await draining;
    expect(answer.status).toBe(200);
    expect(answer.headers.has('PAYMENT-RESPONSE')).toBe(true);
    expect(s.ledger.transfers).toHaveLength(1);
    expect(drained).toEqual({ drained: true, inFlight: 0 });
  });

  it('drain gives up after its timeout and says how many requests are still in flight', async () => {
    const s = await setup();
    s.hold();
    const paying = s.pay();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await s.ops.drain(50)).toEqual({ drained: false, inFlight: 1 });
    s.release();
    expect((await paying).status).toBe(200);
  });
});
