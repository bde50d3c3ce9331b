import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SignedReceipt } from '../../src/core/receipt/receipt';
import { canListSettled, type PaymentStore } from '../../src/stores/paymentStore';
import { StoreCorruptError } from '../../src/stores/storeErrors';

/** How a stored record may be damaged on disk / in Redis. */
export type Corruption = 'receipt-not-json' | 'receipt-off-schema' | 'unknown-state';

/** One store under test, with what the contract needs around it. */
export type StoreUnderTest = {
  store: PaymentStore;
  /** A second connection / client to the same data, for cross-connection races. */
  peer?: PaymentStore;
  /** Damages the stored record of a settled payment (stores that serialize only). */
  corrupt?: (paymentId: string, how: Corruption) => Promise<void> | void;
  close(): Promise<void> | void;
};

/** A receipt that passes the receipt schema. */
export function sampleReceipt(overrides: Partial<SignedReceipt> = {}): SignedReceipt {
  return {
    v: 1,
    id: 'rcpt_1',
    issuer: 'https://api.example.com',
    rail: 'evm-eip3009',
    scheme: 'exact',
    network: 'eip155:31337',
    asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    amount: '1000',
    payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    payee: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    reference: '0xabc123',
    request: { method: 'GET', url: 'https://api.example.com/weather', bodyHash: '' },
    requirementsHash: 'req-hash',
    challenge: 'ch_1',
    status: 'settled',
    issuedAt: '2025-01-01T00:00:00.000Z',
    settledAt: '2025-01-01T00:00:01.000Z',
    signature: 'eyJhbGciOiJFZERTQSJ9..c2ln',
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const freshId = (label: string) => `evm-eip3009:${label}:${process.pid}:${Date.now()}:${counter++}`;

/**
 * The shared contract every {@link PaymentStore} must pass: memory, SQLite, Redis, and any new one.
 *
 * @example describePaymentStoreContract('sqlite', () => ({ store: createSqlitePaymentStore({ path }), close: … }))
 */
export function describePaymentStoreContract(
  name: string,
  makeStore: () => Promise<StoreUnderTest> | StoreUnderTest,
): void {
  describe(`PaymentStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: PaymentStore;
    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.close();
    });

    it('claim → settle → get round trip keeps the request key and the receipt', async () => {
      const id = freshId('roundtrip');
      expect(await store.get(id)).toBeUndefined();
      expect(await store.claim(id, 'req-1', 10_000)).toEqual({ claimed: true, owner: expect.any(String) });
      const inFlight = await store.get(id);
      expect(inFlight).toMatchObject({ state: 'in_flight', requestKey: 'req-1' });
      // the owner token is the holder's alone: it is not handed out with the record
      expect(inFlight).not.toHaveProperty('owner');
      const receipt = sampleReceipt();
      const before = Date.now();
      expect(await store.settle(id, receipt)).toEqual(receipt);
      expect(await store.get(id)).toEqual({
        state: 'settled',
        requestKey: 'req-1',
        receipt,
        settledAt: expect.any(Number),
        replays: 0,
      });
      const settled = await store.get(id);
      if (settled?.state === 'settled') expect(settled.settledAt).toBeGreaterThanOrEqual(before);
    });

    it('a second claim does not win and returns the current record', async () => {
      const id = freshId('second');
      const before = Date.now();
      await store.claim(id, 'req-1', 10_000);
      const second = await store.claim(id, 'req-2', 10_000);
      expect(second.claimed).toBe(false);
      if (second.claimed) return;
      expect(second.record).toMatchObject({ state: 'in_flight', requestKey: 'req-1' });
      if (second.record.state === 'in_flight') expect(second.record.leaseUntil).toBeGreaterThanOrEqual(before + 10_000);
    });

    it('an expired lease can be claimed again; an unexpired one cannot', async () => {
      const expired = freshId('expired');
      const live = freshId('live');
      await store.claim(expired, 'req-old', 20);
      await store.claim(live, 'req-old', 10_000);
      await sleep(60);
      // a take-over is flagged, so the claimer looks for a settlement of the attempt that died
      expect(await store.claim(expired, 'req-new', 10_000)).toEqual({
        claimed: true,
        owner: expect.any(String),
        takeover: true,
        takenFrom: 'req-old',
      });
      expect(await store.get(expired)).toMatchObject({ state: 'in_flight', requestKey: 'req-new' });
      expect((await store.claim(live, 'req-new', 10_000)).claimed).toBe(false);
      // the take-over holds a fresh lease
      expect((await store.claim(expired, 'req-third', 10_000)).claimed).toBe(false);
    });

    it('expireClaim lets the next claimer take an in-flight claim over at once, and touches nothing else', async () => {
      const id = freshId('expire');
      await store.claim(id, 'req-1', 60_000);
      expect((await store.claim(id, 'req-2', 60_000)).claimed).toBe(false);
      await store.expireClaim(id);
      const second = await store.claim(id, 'req-2', 60_000);
      expect(second).toEqual({ claimed: true, owner: expect.any(String), takeover: true, takenFrom: 'req-1' });
      expect(await store.get(id)).toMatchObject({ state: 'in_flight', requestKey: 'req-2' });
      // handed back to the request it was taken from: the next claimer sees that request key
      if (second.claimed) await store.expireClaim(id, second.owner, 'req-1');
      expect(await store.get(id)).toMatchObject({ state: 'in_flight', requestKey: 'req-1', leaseUntil: 0 });
      expect(await store.claim(id, 'req-2', 60_000)).toMatchObject({
        claimed: true,
        takeover: true,
        takenFrom: 'req-1',
      });
      await store.markPending(id, 'evm-eip3009', '0xp');
      await store.expireClaim(id);
      expect(await store.get(id)).toMatchObject({ state: 'pending', reference: '0xp' });
      const never = freshId('never');
      await store.expireClaim(never); // a no-op: nothing is created
      expect(await store.get(never)).toBeUndefined();
    });

    it('release frees only an in-flight claim', async () => {
      const id = freshId('release');
      await store.claim(id, 'req-1', 10_000);
      await store.release(id);
      expect(await store.get(id)).toBeUndefined();
      expect(await store.claim(id, 'req-1', 10_000)).toMatchObject({ claimed: true });

      await store.markPending(id, 'evm-eip3009', '0xpending');
      await store.release(id);
      expect(await store.get(id)).toMatchObject({ state: 'pending', reference: '0xpending' });
      // a broadcast found failed is freed explicitly, and leaves the pending list
      await store.release(id, 'pending');
      expect(await store.get(id)).toBeUndefined();
      expect((await store.listPending()).some((p) => p.paymentId === id)).toBe(false);
      await store.claim(id, 'req-1', 10_000);
      await store.markPending(id, 'evm-eip3009', '0xpending');

      await store.settle(id, sampleReceipt());
      await store.release(id);
      expect(await store.get(id)).toMatchObject({ state: 'settled' });
      await store.release(freshId('never-claimed')); // a no-op, not an error
    });

    it('markPending keeps the settlement intent; a later mark without one keeps it, settling drops it', async () => {
      const id = freshId('intent');
      await store.claim(id, 'req-intent', 10_000);
      const intent = JSON.stringify({ route: 'GET /x', payload: { a: 1 } });
      await store.markPending(id, 'evm-eip3009', '0xbroadcast', intent);
      expect(await store.get(id)).toMatchObject({
        state: 'pending',
        requestKey: 'req-intent',
        reference: '0xbroadcast',
        intent,
      });
      await store.markPending(id, 'evm-eip3009', '0xbroadcast');
      const listed = (await store.listPending()).find((p) => p.paymentId === id);
      expect(listed?.record.intent).toBe(intent);
      await store.settle(id, sampleReceipt({ reference: '0xbroadcast' }));
      expect(await store.get(id)).not.toHaveProperty('intent');
      const plain = freshId('no-intent');
      await store.markPending(plain, 'solana-spl', 'sig');
      expect(await store.get(plain)).not.toHaveProperty('intent');
    });

    it('markPending records rail and reference; listPending lists exactly the pending ones', async () => {
      const a = freshId('pending-a');
      const b = freshId('pending-b');
      const c = freshId('pending-c');
      for (const id of [a, b, c]) await store.claim(id, `req-${id}`, 10_000);
      await store.markPending(a, 'evm-eip3009', '0xaaa');
      await store.markPending(b, 'solana-spl', 'sigbbb');
      const listed = (await store.listPending()).filter((p) => [a, b, c].includes(p.paymentId));
      expect(listed.map((p) => p.paymentId).sort()).toEqual([a, b].sort());
      const first = listed.find((p) => p.paymentId === a);
      expect(first?.record).toMatchObject({
        state: 'pending',
        requestKey: `req-${a}`,
        rail: 'evm-eip3009',
        reference: '0xaaa',
      });
      expect(typeof first?.record.updatedAt).toBe('number');
      expect(await store.claim(a, `req-${a}`, 10_000)).toMatchObject({ claimed: false, record: { state: 'pending' } });

      await store.settle(a, sampleReceipt({ reference: '0xaaa' }));
      const after = (await store.listPending()).filter((p) => [a, b, c].includes(p.paymentId));
      expect(after.map((p) => p.paymentId)).toEqual([b]);
      expect(await store.get(a)).toMatchObject({ state: 'settled', requestKey: `req-${a}` });
    });

    it('settled is terminal: later claims see it, markPending and a second settle change nothing', async () => {
      const id = freshId('terminal');
      await store.claim(id, 'req-1', 1);
      const first = sampleReceipt({ id: 'rcpt_first' });
      await store.settle(id, first);
      await sleep(10); // the lease of the claim has run out: the claim must still not win
      const again = await store.claim(id, 'req-1', 10_000);
      expect(again).toMatchObject({
        claimed: false,
        record: { state: 'settled', requestKey: 'req-1', receipt: first },
      });
      await store.markPending(id, 'evm-eip3009', '0xlate');
      await store.fail(id, 'late_failure');
      expect(await store.settle(id, sampleReceipt({ id: 'rcpt_second' }))).toEqual(first);
      expect(await store.get(id)).toMatchObject({ state: 'settled', requestKey: 'req-1', receipt: first, replays: 0 });
      expect((await store.listPending()).some((p) => p.paymentId === id)).toBe(false);
    });

    it("renew extends only the current owner's claim; a claim taken over cannot be renewed by its old owner", async () => {
      const id = freshId('renew');
      const first = await store.claim(id, 'req-1', 80);
      if (!first.claimed) throw new Error('not claimed');
      expect(await store.renew(id, first.owner, 10_000)).toBe(true);
      await sleep(120); // past the first lease: the renewal keeps the claim
      expect((await store.claim(id, 'req-2', 10_000)).claimed).toBe(false);
      expect(await store.renew(id, 'someone-else', 10_000)).toBe(false);
      // the lease lapses without renewal and another attempt takes it over: the old owner has lost it
      await store.renew(id, first.owner, 20);
      await sleep(60);
      const second = await store.claim(id, 'req-2', 10_000);
      expect(second).toMatchObject({ claimed: true, takeover: true });
      if (!second.claimed) return;
      expect(second.owner).not.toBe(first.owner);
      expect(await store.renew(id, first.owner, 10_000)).toBe(false);
      // the old owner can neither free nor expire the new holder's claim
      await store.release(id, 'in_flight', first.owner);
      await store.expireClaim(id, first.owner);
      expect(await store.get(id)).toMatchObject({ state: 'in_flight', requestKey: 'req-2' });
      expect((await store.claim(id, 'req-3', 10_000)).claimed).toBe(false);
      expect(await store.renew(id, second.owner, 10_000)).toBe(true);
      // once settled (or failed, or released) there is nothing to renew
      await store.settle(id, sampleReceipt());
      expect(await store.renew(id, second.owner, 10_000)).toBe(false);
      expect(await store.renew(freshId('never'), 'x', 10_000)).toBe(false);
      const other = sut.peer ?? store;
      const third = freshId('renew-peer');
      const held = await store.claim(third, 'req-1', 10_000);
      if (held.claimed) expect(await other.renew(third, held.owner, 10_000)).toBe(true);
      if (held.claimed) await other.release(third, 'in_flight', held.owner);
      expect(await store.get(third)).toBeUndefined();
    });

    it('fail is terminal: later claims get the failed record, it leaves the pending list, a settlement found later still wins', async () => {
      const id = freshId('fail');
      await store.claim(id, 'req-1', 10_000);
      await store.markPending(id, 'evm-eip3009', '0xreverted', 'intent');
      await store.fail(id, 'transfer_reverted');
      const failed = await store.get(id);
      expect(failed).toEqual({
        state: 'failed',
        requestKey: 'req-1',
        reason: 'transfer_reverted',
        failedAt: expect.any(Number),
      });
      expect((await store.listPending()).some((p) => p.paymentId === id)).toBe(false);
      await sleep(5);
      expect(await store.claim(id, 'req-1', 1)).toMatchObject({
        claimed: false,
        record: { state: 'failed', reason: 'transfer_reverted' },
      });
      await store.release(id);
      await store.expireClaim(id);
      expect(await (sut.peer ?? store).claim(id, 'req-2', 10_000)).toMatchObject({
        claimed: false,
        record: { state: 'failed' },
      });
      expect(await store.replay(id, 'req-1', { windowMs: 60_000, max: 5 })).toEqual({
        admitted: false,
        reason: 'not_replayable',
      });
      const receipt = sampleReceipt({ reference: '0xreverted' });
      expect(await store.settle(id, receipt)).toEqual(receipt);
      expect(await store.get(id)).toMatchObject({ state: 'settled', receipt });
      const never = freshId('fail-unclaimed');
      await store.fail(never, 'refused');
      expect(await store.get(never)).toMatchObject({ state: 'failed', requestKey: '', reason: 'refused' });
    });

    it('replay admits the identical request at most max times within the window, counted atomically across connections', async () => {
      const id = freshId('replay');
      await store.claim(id, 'req-1', 10_000);
      expect(await store.replay(id, 'req-1', { windowMs: 60_000, max: 3 })).toEqual({
        admitted: false,
        reason: 'not_replayable',
      });
      await store.settle(id, sampleReceipt());
      expect(await store.replay(id, 'req-other', { windowMs: 60_000, max: 3 })).toEqual({
        admitted: false,
        reason: 'not_replayable',
      });
      const other = sut.peer ?? store;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? store : other).replay(id, 'req-1', { windowMs: 60_000, max: 3 }),
        ),
      );
      expect(results.filter((r) => r.admitted)).toHaveLength(3);
      expect(results.filter((r) => !r.admitted && r.reason === 'replay_limit_reached')).toHaveLength(17);
      expect(await store.get(id)).toMatchObject({ state: 'settled', replays: 3 });
      const late = freshId('replay-late');
      await store.claim(late, 'req-1', 10_000);
      await store.settle(late, sampleReceipt());
      await sleep(40);
      expect(await store.replay(late, 'req-1', { windowMs: 20, max: 3 })).toEqual({
        admitted: false,
        reason: 'replay_window_closed',
      });
      expect(await store.replay(late, 'req-1', { windowMs: 60_000, max: 3 })).toEqual({ admitted: true });
    });

    it('lists settled payments (only those), newest first, by settlement time and limit', async () => {
      expect(canListSettled(store)).toBe(true);
      if (!canListSettled(store)) return;
      const ids = [freshId('list-a'), freshId('list-b'), freshId('list-c')];
      const start = Date.now();
      for (const [i, id] of ids.entries()) {
        const claim = await store.claim(id, `req-${i}`, 10_000);
        expect(claim.claimed).toBe(true);
        await store.settle(id, sampleReceipt({ id: `rcpt_${id}` }));
        await sleep(5);
      }
      const pending = freshId('list-pending');
      await store.claim(pending, 'req-p', 10_000);
      await store.markPending(pending, 'evm-eip3009', '0xpending');
      const inFlight = freshId('list-inflight');
      await store.claim(inFlight, 'req-f', 10_000);
      const mine = (await store.listSettled({ since: start - 1 })).filter((p) => p.paymentId.includes(':list-'));
      expect(mine.map((p) => p.paymentId)).toEqual([...ids].reverse());
      expect(mine[0]?.record.receipt.id).toBe(`rcpt_${ids[2]}`);
      expect(mine.every((p) => p.record.state === 'settled')).toBe(true);
      const middle = mine[1]?.record.settledAt ?? 0;
      const after = (await store.listSettled({ since: middle })).filter((p) => ids.includes(p.paymentId));
      expect(after.map((p) => p.paymentId)).toEqual([ids[2], ids[1]]);
      const before = (await store.listSettled({ since: start - 1, until: middle })).filter((p) =>
        ids.includes(p.paymentId),
      );
      expect(before.map((p) => p.paymentId)).toEqual([ids[0]]);
      expect(await store.listSettled({ since: start - 1, limit: 1 })).toHaveLength(1);
    });

    it('racing settlers of one payment all get the one receipt on record', async () => {
      const id = freshId('settle-race');
      await store.claim(id, 'req-1', 10_000);
      const other = sut.peer ?? store;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? store : other).settle(id, sampleReceipt({ id: `rcpt_${i}` })),
        ),
      );
      const stored = await store.get(id);
      expect(stored?.state).toBe('settled');
      if (stored?.state === 'settled') for (const r of results) expect(r).toEqual(stored.receipt);
    });

    it('200 concurrent claims of one payment: exactly one winner', async () => {
      const id = freshId('race');
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.claim(id, `req-${i}`, 10_000)));
      const winners = results.filter((r) => r.claimed);
      expect(winners).toHaveLength(1);
      const winner = results.findIndex((r) => r.claimed);
      for (const r of results)
        if (!r.claimed) expect(r.record).toMatchObject({ state: 'in_flight', requestKey: `req-${winner}` });
    });

    it('200 concurrent take-overs of one expired lease: exactly one winner', async () => {
      const id = freshId('race-expired');
      await store.claim(id, 'req-dead', 1);
      await sleep(20);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.claim(id, `req-${i}`, 10_000)));
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
    });

    it('200 concurrent claims over two connections: exactly one winner', async (ctx) => {
      const peer = sut.peer;
      if (!peer) return ctx.skip();
      const id = freshId('race-peer');
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? store : peer).claim(id, `req-${i}`, 10_000)),
      );
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      expect(await peer.get(id)).toEqual(await store.get(id));
    });

    for (const how of ['receipt-not-json', 'receipt-off-schema', 'unknown-state'] as const) {
      it(`a corrupt record (${how}) is a StoreCorruptError, never a crash`, async (ctx) => {
        const corrupt = sut.corrupt;
        if (!corrupt) return ctx.skip();
        const id = freshId(`corrupt-${how}`);
        await store.claim(id, 'req-1', 10_000);
        await store.settle(id, sampleReceipt());
        await corrupt(id, how);
        const error = await store.get(id).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreCorruptError);
        if (error instanceof StoreCorruptError) {
          expect(error.paymentId).toBe(id);
          expect(error.code).toBe('RECEIPT__INVALID');
          expect(error.status).toBe(500);
        }
        await expect(store.claim(id, 'req-1', 10_000)).rejects.toBeInstanceOf(StoreCorruptError);
      });
    }
  });
}
