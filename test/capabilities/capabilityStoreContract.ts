import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { CapabilityStore } from '../../src/capabilities/capabilityStore';

/** Two handles on one store's data (two connections or clients; the memory store is its own peer). */
export type CapabilityStoreFixture = { store: CapabilityStore; peer: CapabilityStore; close(): void | Promise<void> };

const T0 = 1_800_000_000_000;
const jti = () => randomBytes(12).toString('base64url');

/**
 * The contract every CapabilityStore passes: counting down, atomic decrement under concurrency (also across
 * two handles), revocation, expiry, metered amounts beyond 64 bits, restore, rate limit.
 */
export function describeCapabilityStoreContract(
  name: string,
  make: () => CapabilityStoreFixture | Promise<CapabilityStoreFixture>,
): void {
  describe(`capability store contract: ${name}`, () => {
    const fixtures: CapabilityStoreFixture[] = [];
    const open = async () => {
      const f = await make();
      fixtures.push(f);
      return f;
    };
    afterAll(async () => {
      for (const f of fixtures) await f.close();
    });

    it('counts calls down, reports what is left, then refuses as exhausted; an unknown id is unknown', async () => {
      const { store } = await open();
      const id = jti();
      await store.register({ jti: id, calls: 3, expiresAt: T0 + 60_000 });
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await store.consume(id, { now: T0 }));
      expect(results).toEqual([
        { ok: true, remainingCalls: 2 },
        { ok: true, remainingCalls: 1 },
        { ok: true, remainingCalls: 0 },
        { ok: false, reason: 'capability_exhausted' },
      ]);
      expect(await store.consume(jti(), { now: T0 })).toEqual({ ok: false, reason: 'capability_unknown' });
      expect(await store.get(id)).toMatchObject({ jti: id, calls: 0, expiresAt: T0 + 60_000, revoked: false });
    });

    it('registering the same id again (from either handle) keeps what is left: a capability is never refilled', async () => {
      const { store, peer } = await open();
      const id = jti();
      await store.register({ jti: id, calls: 2, amount: 100n, costPerCall: 10n, expiresAt: T0 + 60_000 });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: true, remainingCalls: 1, remainingAmount: 90n });
      await peer.register({ jti: id, calls: 2, amount: 100n, costPerCall: 10n, expiresAt: T0 + 120_000 });
      await store.register({ jti: id, calls: 50, expiresAt: T0 + 120_000 });
      expect(await store.get(id)).toMatchObject({ calls: 1, amount: 90n, expiresAt: T0 + 60_000 });
      expect(await peer.consume(id, { now: T0 })).toEqual({ ok: true, remainingCalls: 0, remainingAmount: 80n });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: false, reason: 'capability_exhausted' });
    });

    it('50 parallel uses of a 10-call capability through two handles: exactly 10 succeed, each count once', async () => {
      const { store, peer } = await open();
      const id = jti();
      await store.register({ jti: id, calls: 10, expiresAt: T0 + 60_000 });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : peer).consume(id, { now: T0 })),
      );
      const served = results.filter((r) => r.ok);
      expect(served).toHaveLength(10);
      expect(served.map((r) => (r.ok ? r.remainingCalls : -1)).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
      expect(results.filter((r) => !r.ok && r.reason === 'capability_exhausted')).toHaveLength(40);
    });

    it('revocation by id is seen by every handle, takes nothing, and outlives re-reading', async () => {
      const { store, peer } = await open();
      const id = jti();
      await store.register({ jti: id, calls: 5, expiresAt: T0 + 60_000 });
      expect(await peer.consume(id, { now: T0 })).toMatchObject({ ok: true, remainingCalls: 4 });
      await peer.revoke(id);
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: false, reason: 'capability_revoked' });
      expect(await peer.consume(id, { now: T0 })).toEqual({ ok: false, reason: 'capability_revoked' });
      expect(await store.get(id)).toMatchObject({ calls: 4, revoked: true });
      const other = jti();
      await store.register({ jti: other, calls: 1, expiresAt: T0 + 60_000 });
      expect(await store.consume(other, { now: T0 })).toMatchObject({ ok: true });
    });

    it('expires at expiresAt: served just before, refused from then on, nothing taken', async () => {
      const { store } = await open();
      const id = jti();
      await store.register({ jti: id, calls: 5, expiresAt: T0 + 1_000 });
      expect(await store.consume(id, { now: T0 + 999 })).toEqual({ ok: true, remainingCalls: 4 });
      expect(await store.consume(id, { now: T0 + 1_000 })).toEqual({ ok: false, reason: 'capability_expired' });
      expect(await store.consume(id, { now: T0 + 5_000 })).toEqual({ ok: false, reason: 'capability_expired' });
    });

    it('a time-only capability serves any number of calls until it expires', async () => {
      const { store } = await open();
      const id = jti();
      await store.register({ jti: id, expiresAt: T0 + 1_000 });
      for (let i = 0; i < 20; i++) expect(await store.consume(id, { now: T0 + i })).toEqual({ ok: true });
      expect(await store.consume(id, { now: T0 + 1_000 })).toEqual({ ok: false, reason: 'capability_expired' });
    });

    it('metered amounts beyond 64 bits draw exactly, refuse an overdraw, and restore gives back', async () => {
      const { store, peer } = await open();
      const id = jti();
      const cap = 10n ** 30n;
      const cost = 3n * 10n ** 29n;
      await store.register({ jti: id, amount: cap, costPerCall: cost, expiresAt: T0 + 60_000 });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: true, remainingAmount: 7n * 10n ** 29n });
      expect(await peer.consume(id, { now: T0, amount: 123_456_789_012_345_678_901n })).toEqual({
        ok: true,
        remainingAmount: 7n * 10n ** 29n - 123_456_789_012_345_678_901n,
      });
      expect(await store.consume(id, { now: T0, amount: 7n * 10n ** 29n })).toEqual({
        ok: false,
        reason: 'capability_exhausted',
      });
      await peer.restore(id, { now: T0, amount: 123_456_789_012_345_678_901n });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: true, remainingAmount: 4n * 10n ** 29n });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: true, remainingAmount: 10n ** 29n });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: false, reason: 'capability_exhausted' });
      expect((await store.get(id))?.amount).toBe(10n ** 29n);
    });

    it('restore gives a call back (a handler that failed)', async () => {
      const { store } = await open();
      const id = jti();
      await store.register({ jti: id, calls: 1, expiresAt: T0 + 60_000 });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: true, remainingCalls: 0 });
      await store.restore(id, { now: T0 });
      expect(await store.consume(id, { now: T0 })).toEqual({ ok: true, remainingCalls: 0 });
      await store.restore(jti(), { now: T0 });
    });

    it('rate limit: a burst of rateLimit calls, then refused with the wait until the next token', async () => {
      const { store, peer } = await open();
      const id = jti();
      await store.register({ jti: id, calls: 100, rateLimit: 2, expiresAt: T0 + 60_000 });
      expect(await store.consume(id, { now: T0 })).toMatchObject({ ok: true, remainingCalls: 99 });
      expect(await peer.consume(id, { now: T0 })).toMatchObject({ ok: true, remainingCalls: 98 });
      const refused = await store.consume(id, { now: T0 + 100 });
      expect(refused).toMatchObject({ ok: false, reason: 'capability_rate_limited' });
      expect(!refused.ok && refused.reason === 'capability_rate_limited' && refused.retryAfterMs).toBe(400);
      expect(await peer.consume(id, { now: T0 + 500 })).toMatchObject({ ok: true, remainingCalls: 97 });
      expect(await store.get(id)).toMatchObject({ calls: 97, rateLimit: 2 });
    });
  });
}
