/** One contract for every CapCounter (memory, SQLite, Redis, Postgres on a server and embedded): atomic check-and-add under several limits. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMemoryCapCounter,
  createRedisCapCounter,
  createSqliteCapCounter,
  type CapCounter,
} from '../../src/risk/index';
import { createPostgresCapCounter } from '../../src/risk/postgresCapCounter';
import { postgresForTests, type PostgresFixture } from '../support/postgresForTests';
import { redisClusterForTests } from '../support/redisCluster';
import { redisForTests } from '../support/redisForTests';

const dir = mkdtempSync(join(tmpdir(), 'x402-capcounter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Makes `n` counters over one shared state (one for memory, which is per process). */
type Counters = (n: number) => CapCounter[];

function describeCapCounter(name: string, make: Counters): void {
  let runs = 0;
  const fresh = (n = 1) => {
    runs++;
    return make(n);
  };
  describe(`${name} cap counter`, () => {
    it('adds under every limit or under none, names the limit it would pass, and gives a release back', async () => {
      const [c] = fresh();
      if (!c) throw new Error('counter');
      const payer = { key: `p${runs}`, max: 100n };
      const global = { key: `g${runs}`, max: 150n };
      expect(await c.tryReserve('r1', [payer, global], 60n)).toEqual({ ok: true });
      expect(await c.tryReserve('r2', [payer, global], 50n)).toEqual({ ok: false, limit: payer });
      expect(await c.total(payer.key)).toBe(60n);
      expect(await c.tryReserve('r3', [{ key: `other${runs}`, max: 100n }, global], 91n)).toEqual({
        ok: false,
        limit: global,
      });
      expect(await c.total(`other${runs}`)).toBe(0n); // nothing added under the limit that passed
      await c.commit('r1');
      await c.release('r1'); // committed: stays
      expect(await c.total(payer.key)).toBe(60n);
      expect(await c.tryReserve('r4', [payer, global], 40n)).toEqual({ ok: true });
      await c.release('r4');
      await c.release('r4'); // twice is a no-op
      expect(await c.total(payer.key)).toBe(60n);
      expect(await c.total(global.key)).toBe(60n);
    });

    it('counters racing 50 reservations over one state take exactly what the limit holds', async () => {
      const counters = fresh(3);
      const limit = { key: `race${runs}`, max: 20n };
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (counters[i % counters.length] as CapCounter).tryReserve(`race-${runs}-${i}`, [limit], 1n),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(20);
      expect(await counters[0]?.total(limit.key)).toBe(20n);
    });

    it('counts amounts beyond 2^53 exactly', async () => {
      const [c] = fresh();
      const limit = { key: `big${runs}`, max: 2n ** 70n + 1n };
      expect(await c?.tryReserve('b1', [limit], 2n ** 70n)).toEqual({ ok: true });
      expect(await c?.tryReserve('b2', [limit], 2n)).toEqual({ ok: false, limit });
      expect(await c?.tryReserve('b3', [limit], 1n)).toEqual({ ok: true });
      expect(await c?.total(limit.key)).toBe(2n ** 70n + 1n);
    });
  });
}

describeCapCounter('memory', (n) => {
  const one = createMemoryCapCounter();
  return Array.from({ length: n }, () => one);
});

let files = 0;
describeCapCounter('SQLite (several connections on one file)', (n) => {
  const path = join(dir, `caps-${files++}.sqlite`);
  return Array.from({ length: n }, () => createSqliteCapCounter({ path }));
});

const redis = await redisForTests('Redis cap counter');
if (redis) {
  let prefixes = 0;
  describeCapCounter('Redis (several clients)', (n) => {
    const keyPrefix = `caps${prefixes++}:`;
    return Array.from({ length: n }, () => createRedisCapCounter({ redis: redis.connect(), keyPrefix }));
  });
}

// Postgres: one migrated fixture per kind (the contract's keys and reservation ids differ per test).
const pgs = await postgresForTests('Postgres cap counter');
const postgresCounters = async (fixture: Promise<PostgresFixture>): Promise<Counters> => {
  const { source, peer, tablePrefix } = await fixture;
  return (n) =>
    Array.from({ length: n }, (_, i) => createPostgresCapCounter({ ...(i % 2 ? peer : source), tablePrefix }));
};
if (pgs.server) describeCapCounter('Postgres (server, two pools)', await postgresCounters(pgs.server.fresh()));
describeCapCounter('Postgres (embedded PGlite, one connection)', await postgresCounters(pgs.pglite.fresh()));

const cluster = await redisClusterForTests('Redis Cluster cap counter');
if (cluster) {
  let tags = 0;
  describeCapCounter('Redis Cluster (3 primaries, several Cluster clients)', (n) => {
    const keyPrefix = `{caps${tags++}}:`;
    return Array.from({ length: n }, () => createRedisCapCounter({ redis: cluster.connect(), keyPrefix }));
  });
}
