import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisCapabilityStore } from '../../src/capabilities/redisCapabilityStore';
import { StoreUnavailableError } from '../../src/stores/storeErrors';
import { redisClusterForTests } from '../support/redisCluster';
import { redisForTests } from '../support/redisForTests';
import { startRedisServer } from '../support/redisServer';
import { describeCapabilityStoreContract } from './capabilityStoreContract';

const harness = await redisForTests('Redis capability store');

if (harness) {
  const { binary, connect } = harness;
  let prefixes = 0;

  describeCapabilityStoreContract('redis (two ioredis clients)', () => {
    const keyPrefix = `caps${prefixes++}:`;
    return {
      store: createRedisCapabilityStore({ redis: connect(), keyPrefix }),
      peer: createRedisCapabilityStore({ redis: connect(), keyPrefix }),
      close: () => {},
    };
  });

  describe('Redis capability store', () => {
    it('a record expires with its capability; a revocation with it too; both reload after SCRIPT FLUSH', async () => {
      const redis = connect();
      const store = createRedisCapabilityStore({ redis, keyPrefix: 'ttl:' });
      const expiresAt = Date.now() + 60_000;
      await store.register({ jti: 'capability-ttl', calls: 2, expiresAt });
      const ttl = await redis.pttl('ttl:capability:capability-ttl');
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await redis.script('FLUSH');
      await store.revoke('capability-ttl');
      expect(await redis.pttl('ttl:capability-revoked:capability-ttl')).toBeGreaterThan(55_000);
      await redis.script('FLUSH');
      expect(await store.consume('capability-ttl', { now: Date.now() })).toEqual({
        ok: false,
        reason: 'capability_revoked',
      });
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
      const store = createRedisCapabilityStore({ redis, keyPrefix: 'down:' });
      await store.register({ jti: 'capability-down', calls: 2, expiresAt: Date.now() + 60_000 });
      await own.stop();
      const error = await store.consume('capability-down', { now: Date.now() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error instanceof StoreUnavailableError && error.status).toBe(503);
      redis.disconnect();
    });
  });
}

const cluster = await redisClusterForTests('Redis Cluster capability store');
if (cluster) {
  let tags = 0;
  describeCapabilityStoreContract('redis cluster (3 primaries, two Cluster clients)', () => {
    const keyPrefix = `{caps${tags++}}:`;
    return {
      store: createRedisCapabilityStore({ redis: cluster.connect(), keyPrefix }),
      peer: createRedisCapabilityStore({ redis: cluster.connect(), keyPrefix }),
      close: () => {},
    };
  });
}
