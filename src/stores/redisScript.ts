import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

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
 * script yet. Returns the raw reply, for the caller to parse.
 *
 * @example await runRedisScript(redis, release, ['x402:payment:abc'], [])
 */
export async function runRedisScript(redis: Redis, script: RedisScript, keys: string[], args: Array<string | number>): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
