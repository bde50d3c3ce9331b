/**
 * Capability credentials on the fake rail (real fake-money ledger, real paywall, real payingFetch): one
 * settlement buys many calls; every refusal (exhausted, expired, revoked, wrong scope, forged, altered,
 * malformed, rate limited) answers the right status, and the client pays again when it must.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createMemoryCapabilityStore } from '../../src/capabilities/memoryCapabilityStore';
import { createSqliteCapabilityStore } from '../../src/capabilities/sqliteCapabilityStore';
import { receiptOf } from '../../src/client/paymentOutcome';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '../../src/protocol/headers';
import { errorCodes } from '../../src/core/errors';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { peekCapabilityClaims } from '../../src/capabilities/peekCapabilityClaims';
import { createCapabilityWallet } from '../../src/client/capabilityWallet';
import { ORIGIN, capabilitySetup } from './support';

const jtiOf = (token: string) => {
  const claims = peekCapabilityClaims(token);
  if (!claims) throw new Error('not a capability');
  return claims.jti;
};

/** Asserts a 402 refusing the capability for `reason`, with a fresh challenge the client can pay. */
async function expectRefused(res: Response, reason: string): Promise<void> {
  expect(res.status).toBe(402);
  expect(res.headers.get('X402-Capability-Error')).toBe(reason);
  const required = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
  expect(required.error).toBe(reason);
  expect(required.accepts.length).toBeGreaterThan(0);
}

describe('capabilities: pay once, call many', () => {
  it('one settlement, then ten calls on the capability: money moved once, the count goes down to zero', async () => {
    const s = await capabilitySetup();
    const pay = s.client();
    const first = await pay(`${ORIGIN}/api/1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('X402-Capability')).toMatch(/^ey/);
    expect(first.headers.get('Access-Control-Expose-Headers')).toContain('X402-Capability');
    const remaining: Array<string | null> = [];
    for (let i = 2; i <= 11; i++) {
      const res = await pay(`${ORIGIN}/api/${i}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ path: `/api/${i}`, method: 'GET' });
      remaining.push(res.headers.get('X402-Capability-Remaining'));
    }
    expect(remaining).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);
    expect(s.ledger.transfers).toHaveLength(1);
    expect(s.ledger.balanceOf('alice')).toBe(990n);
    expect(s.calls.settle).toBe(1);
    expect(s.state.handlerCalls).toBe(11);
  });

  it('exhausted: the server answers 402 with a new challenge; the client pays again by itself and gets a new capability', async () => {
    const s = await capabilitySetup();
    const token = await s.buy();
    for (let i = 0; i < 10; i++) expect((await s.present('/api/1', token)).status).toBe(200);
    await expectRefused(await s.present('/api/1', token), 'capability_exhausted');

    const wallet = createCapabilityWallet();
    const pay = s.client({ capabilities: wallet });
    const bought = await pay(`${ORIGIN}/api/1`);
    expect(bought.status).toBe(200);
    for (let i = 0; i < 10; i++)
      expect((await pay(`${ORIGIN}/api/1`)).headers.get('X402-Capability-Remaining')).toBe(String(9 - i));
    const transfersBefore = s.ledger.transfers.length;
    const again = await pay(`${ORIGIN}/api/1`);
    expect(again.status).toBe(200);
    expect(again.headers.get('X402-Capability')).not.toBeNull();
    expect(s.ledger.transfers).toHaveLength(transfersBefore + 1);
    expect(wallet.held(ORIGIN)).toHaveLength(1);
    expect(wallet.held(ORIGIN)[0]?.token).toBe(again.headers.get('X402-Capability'));
  });

  it('the client pays again when the server says its capability was exhausted elsewhere (shared with another client)', async () => {
    const s = await capabilitySetup();
    const wallet = createCapabilityWallet();
    const pay = s.client({ capabilities: wallet });
    await pay(`${ORIGIN}/api/1`);
    const token = wallet.held(ORIGIN)[0]?.token ?? '';
    for (let i = 0; i < 10; i++) await s.present('/api/2', token);
    const res = await pay(`${ORIGIN}/api/3`);
    expect(res.status).toBe(200);
    expect(s.ledger.transfers).toHaveLength(2);
    expect(wallet.held(ORIGIN).map((h) => h.token)).not.toContain(token);
  });

  it('expired: refused with capability_expired, nothing counted; the client pays again', async () => {
    const s = await capabilitySetup();
    const pay = s.client();
    await pay(`${ORIGIN}/api/1`);
    const token = await s.buy();
    s.state.clockOffset = 61_000;
    await expectRefused(await s.present('/api/1', token), 'capability_expired');
    const res = await pay(`${ORIGIN}/api/1`);
    expect(res.status).toBe(200);
    expect(s.ledger.transfers).toHaveLength(3);
  });

  it('revoked by id: the next use is refused with capability_revoked; other capabilities still work', async () => {
    const s = await capabilitySetup();
    const revoked = await s.buy();
    const kept = await s.buy();
    expect((await s.present('/api/1', revoked)).status).toBe(200);
    await s.caps.revoke(jtiOf(revoked));
    await expectRefused(await s.present('/api/1', revoked), 'capability_revoked');
    expect((await s.present('/api/1', kept)).status).toBe(200);
    expect(await s.caps.store.get(jtiOf(revoked))).toMatchObject({ revoked: true, calls: 9 });
  });

  it('wrong scope: another route or another method of the same path is refused, and counts nothing', async () => {
    const s = await capabilitySetup();
    const token = await s.buy('/api/1');
    await expectRefused(await s.present('/other', token), 'capability_wrong_scope');
    await expectRefused(await s.present('/api/1', token, { method: 'POST', body: 'x' }), 'capability_wrong_scope');
    expect((await s.present('/api/7', token)).headers.get('X402-Capability-Remaining')).toBe('9');
    const head = await s.present('/api/7', token, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('forged (signed by another key) and altered tokens are refused with capability_invalid', async () => {
    const s = await capabilitySetup();
    const token = await s.buy();
    const claims = peekCapabilityClaims(token);
    if (!claims) throw new Error('no claims');
    const forger = await jwsCapabilityToken();
    await expectRefused(
      await s.present('/api/1', await forger.issue({ ...claims, calls: 1_000_000 })),
      'capability_invalid',
    );

    const [header, payload, signature] = token.split('.');
    const raised = Buffer.from(JSON.stringify({ ...claims, calls: 1_000_000 })).toString('base64url');
    await expectRefused(await s.present('/api/1', `${header}.${raised}.${signature}`), 'capability_invalid');
    // Flip a character whose 6 bits are all signature bits (the last one of 86 carries 4 padding bits).
    const sig = signature ?? '';
    const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    await expectRefused(await s.present('/api/1', `${header}.${payload}.${flipped}`), 'capability_invalid');
    expect((await s.present('/api/1', token)).headers.get('X402-Capability-Remaining')).toBe('9');
  });

  it('a capability of another issuer (origin) is refused', async () => {
    const s = await capabilitySetup();
    const token = await s.buy();
    const res = await s.fetch(`http://elsewhere.test/api/1`, { headers: { 'X402-Capability': token } });
    await expectRefused(res, 'capability_wrong_issuer');
  });

  it('50 parallel calls on a 10-call capability: exactly 10 served, 40 refused as exhausted', async () => {
    const s = await capabilitySetup();
    const token = await s.buy();
    const handlerCallsBefore = s.state.handlerCalls;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => s.present(`/api/${i}`, token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    const refused = results.filter((r) => r.status === 402);
    expect(refused).toHaveLength(40);
    expect(refused.every((r) => r.headers.get('X402-Capability-Error') === 'capability_exhausted')).toBe(true);
    expect(s.state.handlerCalls - handlerCallsBefore).toBe(10);
  });

  it('rate limited: 429 with Retry-After and the reason, the call not counted; served again after the wait', async () => {
    const s = await capabilitySetup();
    const token = await s.buy('/limited');
    expect((await s.present('/limited', token)).status).toBe(200);
    expect((await s.present('/limited', token)).status).toBe(200);
    const limited = await s.present('/limited', token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe('1');
    expect(limited.headers.get('X402-Capability-Error')).toBe('capability_rate_limited');
    expect(await limited.json()).toMatchObject({ code: errorCodes.CAPABILITY_RATE_LIMITED });
    s.state.clockOffset = 1_000;
    const later = await s.present('/limited', token);
    expect(later.status).toBe(200);
    expect(later.headers.get('X402-Capability-Remaining')).toBe('97');
  });

  it('a malformed X402-Capability is a 400 with a stable code; a foreign Bearer token is left alone (402)', async () => {
    const s = await capabilitySetup();
    for (const bad of ['not-a-token', 'a.b', 'x'.repeat(20_000), 'eyJhbGciOiJub25lIn0.e30.']) {
      const res = await s.present('/api/1', bad);
      expect(res.status).toBe(400);
      expect(res.headers.get('X402-Capability-Error')).toBe('capability_malformed');
      expect(await res.json()).toMatchObject({ code: errorCodes.CAPABILITY_MALFORMED });
    }
    const bearer = await s.fetch(`${ORIGIN}/api/1`, { headers: { Authorization: 'Bearer some-app-session-token' } });
    expect(bearer.status).toBe(402);
    expect(bearer.headers.get('X402-Capability-Error')).toBeNull();
  });

  it('Authorization: Bearer <capability> works as well as X402-Capability', async () => {
    const s = await capabilitySetup();
    const token = await s.buy();
    const res = await s.fetch(`${ORIGIN}/api/1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('X402-Capability-Remaining')).toBe('9');
  });

  it('a call the handler fails (≥ 400) gives its use back', async () => {
    const s = await capabilitySetup();
    const token = await s.buy();
    s.state.handlerStatus = 503;
    expect((await s.present('/api/1', token)).status).toBe(503);
    s.state.handlerStatus = 200;
    expect((await s.present('/api/1', token)).headers.get('X402-Capability-Remaining')).toBe('9');
  });

  it('metered: each call draws costPerCall from the prepaid amount; an overdraw is refused as exhausted', async () => {
    const s = await capabilitySetup();
    const token = await s.buy('/metered');
    const left = [];
    for (let i = 0; i < 3; i++)
      left.push((await s.present('/metered', token)).headers.get('X402-Capability-Remaining-Amount'));
    expect(left).toEqual(['70', '40', '10']);
    await expectRefused(await s.present('/metered', token), 'capability_exhausted');
  });

  it('admit hook: a holder denied after buying cannot keep using the capability', async () => {
    let denied = false;
    const s = await capabilitySetup({
      admit: async (claims) => (denied && claims.sub === 'alice' ? { allowed: false, reason: 'sanctioned' } : true),
    });
    const token = await s.buy();
    expect((await s.present('/api/1', token)).status).toBe(200);
    denied = true;
    await expectRefused(await s.present('/api/1', token), 'capability_denied');
  });

  it('a request that also carries a payment pays (the capability is not taken)', async () => {
    const s = await capabilitySetup();
    const token = await s.buy();
    const challenge = decodePaymentRequiredHeader(
      (await s.fetch(`${ORIGIN}/api/1`)).headers.get('PAYMENT-REQUIRED') ?? '',
    );
    const offer = challenge.accepts[0];
    if (!offer) throw new Error('no offer');
    const payload = await s.rail.createPayment(offer, s.alice, {
      resource: challenge.resource,
      x402Version: 2,
      now: Date.now(),
    });
    const payment = encodePaymentSignatureHeader({
      x402Version: 2,
      resource: challenge.resource,
      accepted: offer,
      payload,
    });
    const res = await s.present('/api/1', token, { headers: { 'PAYMENT-SIGNATURE': payment } });
    expect(res.status).toBe(200);
    expect(res.headers.get('PAYMENT-RESPONSE')).not.toBeNull();
    expect(s.ledger.transfers).toHaveLength(2);
    expect((await s.present('/api/1', token)).headers.get('X402-Capability-Remaining')).toBe('9');
  });
});

describe('capabilities: store failures', () => {
  it('a store that cannot be reached on use answers 503 (nothing decided), never a crash', async () => {
    const database = new Database(':memory:');
    const s = await capabilitySetup({ store: createSqliteCapabilityStore({ database }) });
    const token = await s.buy();
    database.close();
    const res = await s.present('/api/1', token);
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).not.toBeNull();
  });

  it('a store failing to register after settlement: the paid response still goes out with its receipt, without a capability', async () => {
    const failures: string[] = [];
    const broken = createMemoryCapabilityStore();
    broken.register = async () => {
      throw new Error('disk full');
    };
    const s = await capabilitySetup({ store: broken, onError: (_e, during) => failures.push(during) });
    const res = await s.client({ capabilities: false })(`${ORIGIN}/api/1`);
    expect(res.status).toBe(200);
    expect(receiptOf(res)?.settleResponse?.success).toBe(true);
    expect(res.headers.get('X402-Capability')).toBeNull();
    expect(failures).toEqual(['issue']);
  });
});
