/**
 * Every metering store (memory, SQLite, Redis, Postgres on a server and embedded) against the same rules: open keeps the first session, reserve
 * never passes the authorization under 50 concurrent reservations (two connections for SQLite and Redis),
 * commit charges at most the reservation, close stops reservations, the refund compare-and-set applies once,
 * and the sessions due for settlement (authorized, expired, close not recorded) are listed from any handle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { createMemoryMeteringStore } from '../../src/metering/memoryMeteringStore';
import { signMeteringReceipt } from '../../src/metering/meteringReceipt';
import type { MeteringStore } from '../../src/metering/meteringStore';
import type { MeterSession } from '../../src/metering/meterSession';
import { createRedisMeteringStore } from '../../src/metering/redisMeteringStore';
import { createSqliteMeteringStore } from '../../src/metering/sqliteMeteringStore';
import { createPostgresMeteringStore } from '../../src/metering/postgresMeteringStore';
import { postgresForTests, type PostgresFixture } from '../support/postgresForTests';
import { redisClusterForTests } from '../support/redisCluster';
import { redisForTests } from '../support/redisForTests';

const dir = mkdtempSync(join(tmpdir(), 'x402-metering-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const redis = await redisForTests('Redis metering store');
const pgs = await postgresForTests('Postgres metering store');
const cluster = await redisClusterForTests('Redis Cluster metering store');

const signer = createReceiptSigner();
let n = 0;
function session(authorized = 200n): MeterSession {
  n++;
  return {
    id: `session-${n}-${Date.now()}`,
    route: 'POST /llm',
    issuer: 'http://meter.test',
    rail: 'fake-exact',
    scheme: 'exact',
    network: 'fakenet:1',
    asset: 'FAKE',
    payer: 'alice',
    payee: 'merchant',
    depositReceipt: `deposit-${n}`,
    depositReference: `ref-${n}`,
    requirementsHash: 'hash',
    challenge: 'challenge',
    token: 'token',
    authorized,
    used: 0n,
    reserved: 0n,
    seq: 1,
    expiresAt: Date.now() + 60_000,
    closed: false,
  };
}

/** Two handles on one store: the same object in memory, two connections for SQLite and Redis. */
function memoryPair(): [MeteringStore, MeteringStore] {
  const store = createMemoryMeteringStore();
  return [store, store];
}
function sqlitePair(): [MeteringStore, MeteringStore] {
  const path = join(dir, `stores-${++n}.sqlite`);
  return [createSqliteMeteringStore({ path }), createSqliteMeteringStore({ path })];
}
const kinds: Array<[string, () => [MeteringStore, MeteringStore]]> = [
  ['memory', memoryPair],
  ['sqlite', sqlitePair],
];
if (redis)
  kinds.push([
    'redis',
    () => [createRedisMeteringStore({ redis: redis.connect() }), createRedisMeteringStore({ redis: redis.connect() })],
  ]);
/** Two handles over one Postgres fixture (made before the tests: a pair is asked for synchronously). */
const postgresPair = async (fixture: Promise<PostgresFixture>): Promise<() => [MeteringStore, MeteringStore]> => {
  const { source, peer, tablePrefix } = await fixture;
  return () => [
    createPostgresMeteringStore({ ...source, tablePrefix }),
    createPostgresMeteringStore({ ...peer, tablePrefix }),
  ];
};
if (cluster)
  kinds.push([
    'redis cluster (3 primaries)',
    () => [
      createRedisMeteringStore({ redis: cluster.connect() }),
      createRedisMeteringStore({ redis: cluster.connect() }),
    ],
  ]);
if (pgs.server) kinds.push(['postgres (server)', await postgresPair(pgs.server.fresh())]);
kinds.push(['postgres (embedded PGlite)', await postgresPair(pgs.pglite.fresh())]);

for (const [kind, make] of kinds) {
  describe(`${kind} metering store`, () => {
    it('open keeps the first session; get answers it with amounts as bigints', async () => {
      const [store] = make();
      const s = session();
      expect(await store.open(s)).toEqual(s);
      expect(await store.open({ ...s, used: 99n })).toEqual(s);
      expect(await store.get(s.id)).toEqual(s);
      expect(await store.get('nobody')).toBeUndefined();
    });

    it('50 concurrent reservations over two connections take exactly what the authorization holds', async () => {
      const [a, b] = make();
      const s = session(200n);
      await a.open(s);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).reserve(s.id, 10n, Date.now())),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(20);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'metering_exhausted')).toBe(true);
      const commits = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).commit(s.id, 10n, i % 2 ? 4n : 50n)),
      );
      expect(commits.map((c) => c?.seq).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
      expect(await a.get(s.id)).toMatchObject({ used: 10n * 10n + 10n * 4n, reserved: 0n, seq: 21 });
    });

    it('refuses unknown, expired and closed sessions; close stops reservations but not commits in flight', async () => {
      const [store] = make();
      expect(await store.reserve('nobody', 1n, Date.now())).toEqual({ ok: false, reason: 'metering_unknown' });
      const s = session();
      await store.open(s);
      expect(await store.reserve(s.id, 1n, s.expiresAt)).toEqual({ ok: false, reason: 'metering_expired' });
      expect(await store.reserve(s.id, 50n, Date.now())).toEqual({ ok: true });
      expect(await store.close(s.id)).toMatchObject({ closed: true, reserved: 50n });
      expect(await store.reserve(s.id, 1n, Date.now())).toEqual({ ok: false, reason: 'metering_closed' });
      expect(await store.commit(s.id, 50n, 30n)).toEqual({ seq: 2, used: 30n, remaining: 170n });
      expect(await store.close('nobody')).toBeUndefined();
    });

    it('the refund compare-and-set applies once', async () => {
      const [a, b] = make();
      const s = session();
      await a.open(s);
      const claims = await Promise.all(
        [a, b, a, b].map((store) => store.setRefund(s.id, [undefined], { status: 'in_progress', amount: 200n })),
      );
      expect(claims.filter((c) => c.applied)).toHaveLength(1);
      const sent = await b.setRefund(s.id, ['in_progress'], { status: 'sent', amount: 200n, reference: 'tx' });
      expect(sent.session?.refund).toEqual({ status: 'sent', amount: 200n, reference: 'tx' });
      expect((await a.setRefund(s.id, ['in_progress'], undefined)).applied).toBe(false);
      expect((await a.get(s.id))?.refund?.status).toBe('sent');
    });

    it('lists the authorized sessions due for settlement from any handle: expired, close not recorded, earliest first, up to the limit', async () => {
      const [a, b] = make();
      const now = Date.now();
      const authorization = '{"permit":{}}';
      const dueLate = { ...session(), authorization, expiresAt: now - 1_000 };
      const dueEarly = { ...session(), authorization, expiresAt: now - 5_000 };
      const dueNow = { ...session(), authorization, expiresAt: now };
      const notYet = { ...session(), authorization, expiresAt: now + 1 };
      const deposit = { ...session(), expiresAt: now - 9_000 }; // a deposit session: refunded by its client, never settled by the operator
      const settled = { ...session(), authorization, expiresAt: now - 8_000 };
      for (const s of [dueLate, dueEarly, dueNow, notYet, deposit, settled]) await a.open(s);
      // One of them is settled (final receipt recorded, as a close does): it leaves the list.
      const receipt = await signMeteringReceipt(
        await signer,
        settled,
        { method: 'DELETE', url: 'http://meter.test/x', bodyHash: '' },
        now,
        { seq: 2, charged: 0n, used: 0n, final: true, refund: { status: 'none', amount: 0n } },
      );
      expect(
        (await a.setRefund(settled.id, [undefined], { status: 'sent', amount: 10n, reference: 'tx' }, receipt)).applied,
      ).toBe(true);
      const mine = (list: MeterSession[]) =>
        list
          .map((s) => s.id)
          .filter((id) => [dueLate, dueEarly, dueNow, notYet, deposit, settled].some((s) => s.id === id));
      expect(mine(await b.dueForSettlement(now, 1_000))).toEqual([dueEarly.id, dueLate.id, dueNow.id]);
      expect((await b.dueForSettlement(now, 1_000)).find((s) => s.id === dueEarly.id)).toEqual(dueEarly);
      expect(mine(await b.dueForSettlement(now + 1, 1_000))).toEqual([dueEarly.id, dueLate.id, dueNow.id, notYet.id]);
      expect(await b.dueForSettlement(now, 1)).toHaveLength(1);
      // A settlement in progress is not due (a close is sending it, or it awaits the operator) and is due again once its
      // claim is freed (resolveRefund notSent); a recorded close is never due again.
      await b.close(dueEarly.id);
      await b.setRefund(dueEarly.id, [undefined], { status: 'in_progress', amount: 5n });
      expect(mine(await a.dueForSettlement(now, 1_000))).toEqual([dueLate.id, dueNow.id]);
      await b.setRefund(dueEarly.id, ['in_progress'], undefined);
      expect(mine(await a.dueForSettlement(now, 1_000))).toEqual([dueEarly.id, dueLate.id, dueNow.id]);
      await b.setRefund(dueEarly.id, [undefined], { status: 'in_progress', amount: 5n });
      await b.setRefund(dueEarly.id, ['in_progress'], { status: 'sent', amount: 5n, reference: 'tx' }, receipt);
      expect(mine(await a.dueForSettlement(now, 1_000))).toEqual([dueLate.id, dueNow.id]);
    });
  });
}
