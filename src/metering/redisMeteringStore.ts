import { redisKeyPrefix, redisScript, runRedisScript, type RedisClient } from '../stores/redisScript';
import { guardStore, StoreCorruptError, StoreUnavailableError } from '../stores/storeErrors';
import type { MeteringStore } from './meteringStore';
import { isDueForSettlement, meteringStoreOver } from './meteringStoreOver';
import { sessionFromJson, sessionToJson, type MeterSession } from './meterSession';

/** Options of {@link createRedisMeteringStore}. */
export type RedisMeteringStoreParameters = {
  /** A connected ioredis client; the store never closes it. */
  redis: RedisClient;
  /** Prefix of every key (default `x402:`); on a Redis Cluster it needs a hash tag (default there `{x402}:`). */
  keyPrefix?: string;
  /** Most compare-and-set attempts of one change under contention before StoreUnavailableError (default 200). */
  maxAttempts?: number;
};

/**
 * Writes a session when its version is still the one read, and keeps its place in the due index (KEYS: session
 * hash, due sorted set; ARGV: version read or '' for none, new JSON, session id, expiry ms when the session is an
 * authorized one to be settled (no close recorded, no settlement in progress), else '').
 */
const SWAP = redisScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tostring((tonumber(v) or 0) + 1), 'doc', ARGV[2])
if ARGV[4] == '' then redis.call('ZREM', KEYS[2], ARGV[3]) else redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end
return 1`);

/**
 * Redis {@link MeteringStore} (ioredis) for servers on several machines: one hash per session (`v` version,
 * `doc` JSON). Each change reads the session, decides with the same rules as every metering store, and writes
 * it back with a compare-and-set on the version (a Lua script), retrying when another instance changed it in
 * between; so reservations from every instance together never pass the authorization. Authorized sessions not
 * yet settled are also indexed by expiry in one sorted set (`<prefix>metering-due`), so any instance's
 * `settleExpired` finds them. Sessions are kept until deleted (they hold what a client may still be refunded).
 *
 * @example const meter = metering({ token, signer, routes, store: createRedisMeteringStore({ redis: new Redis(process.env.REDIS_URL!) }) });
 */
export function createRedisMeteringStore(parameters: RedisMeteringStoreParameters): MeteringStore {
  const { redis } = parameters;
  const prefix = redisKeyPrefix(redis, parameters.keyPrefix);
  const maxAttempts = parameters.maxAttempts ?? 200;
  const keyOf = (id: string) => `${prefix}metering:${id}`;
  /** Sorted set of the authorized sessions not yet settled, scored by expiry (what settleExpired lists). */
  const dueKey = `${prefix}metering-due`;

  async function read(id: string): Promise<{ version: string; session: MeterSession | undefined }> {
    const [version, doc] = await redis.hmget(keyOf(id), 'v', 'doc');
    if (doc === null || doc === undefined) return { version: version ?? '', session: undefined };
    const session = sessionFromJson(doc);
    if (!session) throw new StoreCorruptError('redis metering', id, 'the hash does not hold a metering session');
    return { version: version ?? '', session };
  }

  return meteringStoreOver(
    (id, decide) =>
      guardStore('redis', 'update metering session', async () => {
        for (let attempt = 0; attempt < maxAttempts; attempt++) {
          const { version, session } = await read(id);
          const { result, next } = decide(session);
          if (!next) return result;
          const dueAt = isDueForSettlement(next, Number.POSITIVE_INFINITY) ? String(next.expiresAt) : '';
          if ((await runRedisScript(redis, SWAP, [keyOf(id), dueKey], [version, sessionToJson(next), id, dueAt])) === 1)
            return result;
        }
        throw new StoreUnavailableError(
          'redis',
          'update metering session',
          new Error(`the session changed under ${maxAttempts} attempts in a row`),
        );
      }),
    (id) => guardStore('redis', 'get metering session', async () => (await read(id)).session),
    (now, limit) =>
      guardStore('redis', 'list metering sessions due', async () => {
        const ids = await redis.zrangebyscore(dueKey, '-inf', now, 'LIMIT', 0, limit);
        const sessions = await Promise.all(ids.map(async (id) => (await read(id)).session));
        return sessions.filter((s): s is MeterSession => s !== undefined && isDueForSettlement(s, now));
      }),
  );
}
