import { redisKeyPrefix, redisScript, runRedisScript, type RedisClient } from '../stores/redisScript';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import { encodeCachedResponse, entryOf } from './cachedResponseCodec';
import type { IdempotencyStore } from './idempotencyStore';

/** Options of {@link createRedisIdempotencyStore}. */
export type RedisIdempotencyStoreParameters = {
  /** A connected ioredis client (single node or Cluster); the store never closes it. */
  redis: RedisClient;
  /** Prefix of every key (default `x402:`; on a Redis Cluster `{x402}:`). */
  keyPrefix?: string;
};

/** Reserves an id (KEYS: entry hash; ARGV: fingerprint, ttl ms): nil when reserved now, else {fingerprint, response}. */
const RESERVE = redisScript(`
local f = redis.call('HMGET', KEYS[1], 'f', 'r')
if f[1] then return {f[1], f[2] or ''} end
redis.call('HSET', KEYS[1], 'f', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return false`);

/** Records the answer of an id (KEYS: entry hash; ARGV: fingerprint, response, ttl ms) unless another payment holds it. */
const COMPLETE = redisScript(`
local f = redis.call('HGET', KEYS[1], 'f')
if f and f ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'f', ARGV[1], 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`);

/**
 * Redis {@link IdempotencyStore} for `payment-identifier`: ids and their kept answers shared by every instance, each
 * reservation one atomic script, entries expiring with Redis' own TTL (the `now` passed in is not used).
 *
 * @example paymentIdentifier({ store: createRedisIdempotencyStore({ redis: new Redis(url) }) })
 */
export function createRedisIdempotencyStore(parameters: RedisIdempotencyStoreParameters): IdempotencyStore {
  const redis = parameters.redis;
  const prefix = redisKeyPrefix(redis, parameters.keyPrefix);
  const keyOf = (key: string) => `${prefix}idempotency:${key}`;
  return {
    reserve: (key, fingerprint, ttlMs) =>
      guardStore('redis idempotency', 'reserve', async () => {
        const reply = await runRedisScript(redis, RESERVE, [keyOf(key)], [fingerprint, Math.max(1, Math.ceil(ttlMs))]);
        if (reply === null) return undefined;
        if (!Array.isArray(reply) || typeof reply[0] !== 'string' || typeof reply[1] !== 'string')
          throw new StoreCorruptError('redis idempotency', key, 'the entry does not match the layout');
        const entry = entryOf(reply[0], reply[1]);
        if (entry === 'corrupt')
          throw new StoreCorruptError('redis idempotency', key, 'the kept answer does not decode');
        return entry;
      }),
    complete: (key, fingerprint, response, ttlMs) =>
      guardStore('redis idempotency', 'complete', async () => {
        await runRedisScript(
          redis,
          COMPLETE,
          [keyOf(key)],
          [fingerprint, encodeCachedResponse(response), Math.max(1, Math.ceil(ttlMs))],
        );
      }),
  };
}
