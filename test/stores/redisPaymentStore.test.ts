import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/core/errors';
import { createRedisPaymentStore } from '../../src/stores/redisPaymentStore';
import { StoreCorruptError, StoreUnavailableError } from '../../src/stores/storeErrors';
import { redisClusterForTests } from '../support/redisCluster';
import { redisForTests } from '../support/redisForTests';
import { startRedisServer } from '../support/redisServer';
import { describePaymentStoreContract, sampleReceipt, type Corruption } from './paymentStoreContract';

const harness = await redisForTests('Redis payment store');

if (harness) {
  const { binary, connect } = harness;
  let prefixes = 0;

  describePaymentStoreContract('redis (two ioredis clients)', () => {
    const keyPrefix = `test${prefixes++}:`;
    const a = connect();
    const b = connect();
    const damage: Record<Corruption, (value: string) => string> = {
      'receipt-not-json': (v) => JSON.stringify({ ...JSON.parse(v), receipt: '{"v":1,' }),
      'receipt-off-schema': (v) => JSON.stringify({ ...JSON.parse(v), receipt: '{"v":2,"amount":1.5}' }),
      'unknown-state': (v) => JSON.stringify({ ...JSON.parse(v), state: 'refunded' }),
    };
    return {
      store: createRedisPaymentStore({ redis: a, keyPrefix }),
      peer: createRedisPaymentStore({ redis: b, keyPrefix }),
      corrupt: async (paymentId, how) => {
        const key = `${keyPrefix}payment:${paymentId}`;
        const value = await a.get(key);
        if (value === null) throw new Error('nothing to corrupt');
        await a.set(key, damage[how](value));
      },
      close: () => {},
    };
  });

  describe('Redis payment store', () => {
    it('a fresh claim is one SET NX PX whose TTL outlives the lease; settle and pending persist', async () => {
      const redis = connect();
      const store = createRedisPaymentStore({ redis, keyPrefix: 'ttl:', abandonedClaimTtlMs: 60_000 });
      await store.claim('p', 'r', 5_000);
      const ttl = await redis.pttl('ttl:payment:p');
      expect(ttl).toBeGreaterThan(60_000);
      expect(ttl).toBeLessThanOrEqual(65_000);
      await store.markPending('p', 'evm-eip3009', '0x1');
      expect(await redis.pttl('ttl:payment:p')).toBe(-1);
      expect(await redis.smembers('ttl:pending')).toEqual(['p']);
      await store.settle('p', sampleReceipt());
      expect(await redis.pttl('ttl:payment:p')).toBe(-1);
      expect(await redis.smembers('ttl:pending')).toEqual([]);
    });

    it('reloads its scripts after SCRIPT FLUSH (a restarted or failed-over server)', async () => {
      const redis = connect();
      const store = createRedisPaymentStore({ redis, keyPrefix: 'flush:' });
      await store.claim('p', 'r', 1);
      await new Promise((resolve) => setTimeout(resolve, 10));
      await redis.script('FLUSH');
      expect(await store.claim('p', 'r2', 10_000)).toMatchObject({ claimed: true, takeover: true });
      await redis.script('FLUSH');
      await store.settle('p', sampleReceipt());
      expect(await store.get('p')).toMatchObject({ state: 'settled', requestKey: 'r2' });
    });

    it('a value that is not JSON is a StoreCorruptError', async () => {
      const redis = connect();
      const store = createRedisPaymentStore({ redis, keyPrefix: 'junk:' });
      await redis.set('junk:payment:p', 'not json');
      await expect(store.get('p')).rejects.toBeInstanceOf(StoreCorruptError);
      await expect(store.claim('p', 'r', 1_000)).rejects.toBeInstanceOf(StoreCorruptError);
    });

    it('Redis unreachable is a StoreUnavailableError (503), not a crash', async () => {
      const own = await startRedisServer(binary);
      const redis = new Redis(own.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      redis.on('error', () => {});
      await redis.connect();
      const store = createRedisPaymentStore({ redis, keyPrefix: 'down:' });
      expect(await store.claim('p', 'r', 1_000)).toMatchObject({ claimed: true });
      await own.stop();
      for (const attempt of [
        () => store.claim('q', 'r', 1_000),
        () => store.get('p'),
        () => store.settle('p', sampleReceipt()),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(error instanceof StoreUnavailableError && error.status).toBe(503);
      }
      redis.disconnect();
    });

    it('several clients racing on many payments: exactly one winner each', async () => {
      const stores = Array.from({ length: 4 }, () => createRedisPaymentStore({ redis: connect(), keyPrefix: 'many:' }));
      const ids = Array.from({ length: 50 }, (_, i) => `p${i}`);
      const results = await Promise.all(
        ids.flatMap((id) => stores.flatMap((s) => [s.claim(id, 'r', 10_000), s.claim(id, 'r', 10_000)])),
      );
      expect(results.filter((r) => r.claimed)).toHaveLength(ids.length);
    });
  });
}

const cluster = await redisClusterForTests('Redis Cluster payment store');
if (cluster) {
  let tags = 0;
  describePaymentStoreContract('redis cluster (3 primaries, two Cluster clients)', () => {
    const keyPrefix = `{pay${tags++}}:`;
    const a = cluster.connect();
    return {
      store: createRedisPaymentStore({ redis: a, keyPrefix }),
      peer: createRedisPaymentStore({ redis: cluster.connect(), keyPrefix }),
      corrupt: async (paymentId, how) => {
        const key = `${keyPrefix}payment:${paymentId}`;
        const value = await a.get(key);
        if (value === null) throw new Error('nothing to corrupt');
        const record = JSON.parse(value) as Record<string, unknown>;
        const damaged =
          how === 'unknown-state'
            ? { ...record, state: 'refunded' }
            : { ...record, receipt: how === 'receipt-not-json' ? '{"v":1,' : '{"v":2,"amount":1.5}' };
        await a.set(key, JSON.stringify(damaged));
      },
      close: () => {},
    };
  });

  describe('Redis payment store on a cluster', () => {
    it('defaults to the {x402}: hash tag there, and refuses a prefix without a tag (its scripts would cross slots)', async () => {
      const redis = cluster.connect();
      const store = createRedisPaymentStore({ redis });
      await store.claim('default-tag', 'r', 10_000);
      await store.markPending('default-tag', 'evm-eip3009', '0x1');
      expect(await redis.get('{x402}:payment:default-tag')).toContain('pending');
      expect((await store.listPending()).map((p) => p.paymentId)).toContain('default-tag');
      expect(() => createRedisPaymentStore({ redis, keyPrefix: 'plain:' })).toThrow(ConfigurationError);
    });

    it('stores under different tags sit on different primaries, and each works there', async () => {
      const tags = ['{shop-a}:', '{shop-b}:', '{shop-c}:', '{shop-d}:', '{shop-e}:', '{shop-f}:'];
      const primaries = new Set(await Promise.all(tags.map((t) => cluster.primaryOf(`${t}pending`))));
      expect(primaries.size).toBeGreaterThan(1);
      for (const keyPrefix of tags) {
        const store = createRedisPaymentStore({ redis: cluster.connect(), keyPrefix });
        expect(await store.claim('p', 'r', 10_000)).toMatchObject({ claimed: true });
        expect(await store.settle('p', sampleReceipt())).toEqual(sampleReceipt());
      }
    });
  });
}
