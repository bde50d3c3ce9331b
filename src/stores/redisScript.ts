import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ConfigurationError } from '../core/errors';

/**
 * The ioredis client a Redis store takes: one server (`new Redis(url)`) or a Redis Cluster (`new Cluster(nodes)`).
 * On a cluster, every key of one store lives in one hash slot (see {@link redisKeyPrefix}), so each script's keys,
 * which it always declares, are in one slot.
 */
export type RedisClient = Redis | Cluster;

/**
 * The key prefix of a Redis store: `keyPrefix` as given, or `x402:` on one server and `{x402}:` on a Cluster. On a
 * Cluster the prefix must hold a hash tag (`{…}`, not empty): every key of the store then hashes to one slot, so
 * the scripts that touch several keys (a payment and the pending set, the budgets of one spend, every cap total, the
 * audit head and log) run on one node. Stores with different tags spread over the primaries.
 *
 * @example redisKeyPrefix(new Cluster(nodes)) // '{x402}:'
 */
export function redisKeyPrefix(redis: RedisClient, keyPrefix?: string): string {
  const cluster = isRedisCluster(redis);
  if (keyPrefix === undefined) return cluster ? '{x402}:' : 'x402:';
  if (cluster && !/\{[^{}]+\}/.test(keyPrefix)) {
    throw new ConfigurationError(
      `On a Redis Cluster the key prefix needs a hash tag so that each script's keys share a slot: use e.g. "{${keyPrefix.replace(/[:{}]+$/, '') || 'x402'}}:" instead of ${JSON.stringify(keyPrefix)}.`,
    );
  }
  return keyPrefix;
}

/** True for a Cluster client (told apart without importing ioredis, an optional peer). */
export function isRedisCluster(redis: RedisClient): redis is Cluster {
  return 'isCluster' in redis && redis.isCluster === true;
}

/** A Lua script run by its SHA-1 (EVALSHA), loaded on first use or after a server restart (NOSCRIPT). */
export type RedisScript = { readonly source: string; readonly sha: string };

/**
 * Defines a Lua script for {@link runRedisScript}.
 *
 * @example const release = redisScript(`return redis.call('DEL', KEYS[1])`)
 */
export function redisScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs a script atomically on the server: EVALSHA, falling back to EVAL when the server does not know the
 * script yet (a new server, or a replica promoted by a failover). Keys are always passed as KEYS, never built in the
 * script, so a cluster routes the call to the node that holds them. Returns the raw reply, for the caller to parse.
 *
 * @example await runRedisScript(redis, release, ['x402:payment:abc'], [])
 */
export async function runRedisScript(
  redis: RedisClient,
  script: RedisScript,
  keys: string[],
  args: Array<string | number>,
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
