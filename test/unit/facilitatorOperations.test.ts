/**
 * facilitatorOperations: health, readiness (store and rail checks, draining), Prometheus metrics by request kind and
 * outcome with the settle latency histogram, pending settlements and breakers, and a graceful drain that waits for a
 * settlement in flight. In-process, on the fake rail (whose settle can be held open).
 */
import { describe, expect, it } from 'vitest';
import type { PaymentRequirements } from '../../src/protocol/schemas';
import { createFacilitator } from '../../src/facilitator/createFacilitator';
import { startFacilitator } from '../../src/facilitator/startFacilitator';
import { facilitatorOperations } from '../../src/facilitator/facilitatorOperations';
import { createMemoryPaymentStore } from '../../src/stores/memoryPaymentStore';
import type { PaymentStore } from '../../src/stores/paymentStore';
import { createFakeLedger, FAKE_ASSET, FAKE_NETWORK, fakeRail } from './support/fakeRail';

const BASE = 'http://facilitator.test';
const KEY = 'ops-test-facilitator-key-0123456789';

async function setup(options: { store?: PaymentStore; checks?: Record<string, () => Promise<unknown>> } = {}) {
  const ledger = createFakeLedger();
  const alice = ledger.open('alice', 1_000n);
  let gate: Promise<void> | undefined;
  let release: () => void = () => undefined;
  const rail = fakeRail({ ledger, payTo: 'merchant' });
  const held = {
    ...rail,
    settle: async (...args: Parameters<typeof rail.settle>) => (await gate, rail.settle(...args)),
  };
  const store = options.store ?? createMemoryPaymentStore();
  const ops = facilitatorOperations({
    store,
    breakers: () => [{ rail: rail.id, state: 'open' }],
    checkTimeoutMs: 200,
    ...(options.checks ? { checks: options.checks } : {}),
  });
  const facilitator = createFacilitator({ rails: [held], store, apiKeys: [KEY], onEvent: ops.onEvent });
  const app = ops.wrap(facilitator.fetch);
  const requirements: PaymentRequirements = {
    scheme: 'exact',
    network: FAKE_NETWORK,
    amount: '10',
    asset: FAKE_ASSET,
    payTo: 'merchant',
    maxTimeoutSeconds: 60,
    extra: {},
  };
  const post = async (path: '/verify' | '/settle', payload: Record<string, unknown>, key = KEY) =>
    app(
      new Request(`${BASE}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          x402Version: 2,
          paymentPayload: { x402Version: 2, accepted: requirements, payload },
          paymentRequirements: requirements,
        }),
      }),
    );
  const payment = async () =>
    rail.createPayment(requirements, alice, { resource: { url: `${BASE}/r` }, x402Version: 2, now: Date.now() });
  const hold = () => {
    gate = new Promise((resolve) => (release = resolve));
  };
  const metrics = async () => (await app(new Request(`${BASE}/metrics`))).text();
  return { app, ops, post, payment, ledger, hold, release: () => release(), metrics };
}

describe('facilitator operations', () => {
  it('health answers without the API key; readiness checks the store and each rail check within its timeout', async () => {
    const s = await setup({ checks: { rpc: async () => 1 } });
    expect((await s.app(new Request(`${BASE}/healthz`))).status).toBe(200);
    const ready = await s.app(new Request(`${BASE}/readyz`));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    // The facilitator's own paths still need the key.
    expect((await s.app(new Request(`${BASE}/supported`))).status).toBe(401);

    const down = await setup({
      checks: {
        rpc: () => Promise.reject(new Error('ECONNREFUSED http://user:secret@node:8545')),
        slow: () => new Promise(() => undefined),
      },
      store: { ...createMemoryPaymentStore(), get: () => Promise.reject(new Error('redis down')) },
    });
    const notReady = await down.app(new Request(`${BASE}/readyz`));
    expect(notReady.status).toBe(503);
    const body = await notReady.text();
    expect(JSON.parse(body)).toEqual({
      status: 'unavailable',
      failed: { store: 'Error', rpc: 'Error', slow: 'Error' },
    });
    expect(body).not.toContain('secret');
  });

  it('metrics count requests by kind and outcome, time settlements, and report pending and breakers', async () => {
    const s = await setup();
    const payload = await s.payment();
    expect(await (await s.post('/verify', payload)).json()).toMatchObject({ isValid: true });
    expect(await (await s.post('/verify', { ...payload, sig: '00'.repeat(32) })).json()).toMatchObject({
      isValid: false,
    });
    expect(await (await s.post('/settle', payload)).json()).toMatchObject({ success: true });
    expect(await (await s.post('/settle', payload, 'wrong-key-0123456789abcdef')).status).toBe(401);
    await s.app(
      new Request(`${BASE}/settle`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${KEY}` },
        body: 'not json',
      }),
    );
    const text = await s.metrics();
    expect(text).toContain('x402_facilitator_requests_total{kind="verify",outcome="valid"} 1');
    expect(text).toContain('x402_facilitator_requests_total{kind="verify",outcome="invalid:invalid_signature"} 1');
    expect(text).toContain('x402_facilitator_requests_total{kind="settle",outcome="settled"} 1');
    expect(text).toContain('x402_facilitator_requests_total{kind="settle",outcome="unauthorized"} 1');
    expect(text).toMatch(/x402_facilitator_requests_total\{kind="settle",outcome="error:[A-Z_]+"\} 1\n/);
    expect(text).toMatch(/x402_facilitator_settle_duration_seconds_count\{outcome="settled"\} 1\n/);
    expect(text).toMatch(/x402_facilitator_settle_duration_seconds_bucket\{outcome="settled",le="\+Inf"\} 1\n/);
    expect(text).toMatch(/x402_facilitator_settle_duration_seconds_count\{outcome="400"\} 1\n/);
    expect(text).toContain('x402_facilitator_pending_settlements 0');
    expect(text).toContain('x402_facilitator_in_flight_requests 0');
    expect(text).toContain('x402_breaker_state{rail="fake-exact"} 2');
  });

  it('drain: readiness turns 503 at once, and it resolves only after the settlement in flight has answered', async () => {
    const s = await setup();
    s.hold();
    const settling = s.post('/settle', await s.payment());
    await new Promise((resolve) => setTimeout(resolve, 50)); // the settlement is inside the rail
    let drained: { drained: boolean; inFlight: number } | undefined;
    const draining = s.ops.drain(5_000).then((r) => (drained = r));
    expect((await s.app(new Request(`${BASE}/readyz`))).status).toBe(503);
    expect(await s.metrics()).toContain('x402_facilitator_in_flight_requests 1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drained).toBeUndefined();
    expect(s.ledger.transfers).toHaveLength(0);
    s.release();
    expect(await (await settling).json()).toMatchObject({ success: true });
    await draining;
    expect(s.ledger.transfers).toHaveLength(1);
    expect(drained).toEqual({ drained: true, inFlight: 0 });
  });

  it('drain gives up after its timeout and says how many requests are still in flight', async () => {
    const s = await setup();
    s.hold();
    const settling = s.post('/settle', await s.payment());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await s.ops.drain(50)).toEqual({ drained: false, inFlight: 1 });
    s.release();
    expect((await settling).status).toBe(200);
  });

  it('startFacilitator({ operations }) serves them on its socket, and close() lets the settlement in flight finish', async () => {
    const ledger = createFakeLedger();
    const alice = ledger.open('alice', 1_000n);
    const rail = fakeRail({ ledger, payTo: 'merchant' });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = {
      ...rail,
      settle: async (...args: Parameters<typeof rail.settle>) => (await gate, rail.settle(...args)),
    };
    const started = await startFacilitator({ rails: [held], apiKeys: [KEY], operations: { drainTimeoutMs: 10_000 } });
    expect((await fetch(`${started.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${started.url}/readyz`)).status).toBe(200);
    const requirements: PaymentRequirements = {
      scheme: 'exact',
      network: FAKE_NETWORK,
      amount: '10',
      asset: FAKE_ASSET,
      payTo: 'merchant',
      maxTimeoutSeconds: 60,
      extra: {},
    };
    const payload = await rail.createPayment(requirements, alice, {
      resource: { url: `${BASE}/r` },
      x402Version: 2,
      now: Date.now(),
    });
    const settling = fetch(`${started.url}/settle`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        x402Version: 2,
        paymentPayload: { x402Version: 2, accepted: requirements, payload },
        paymentRequirements: requirements,
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let closed = false;
    const closing = started.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    release();
    expect(await (await settling).json()).toMatchObject({ success: true });
    await closing;
    expect(ledger.transfers).toHaveLength(1);
    await expect(fetch(`${started.url}/healthz`)).rejects.toThrow();
  });
});
