import { REDIS_DECIMAL_LUA } from '../stores/redisDecimal';
import { redisKeyPrefix, redisScript, runRedisScript, type RedisClient } from '../stores/redisScript';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import type { CapCounter, CapLimit } from './capCounter';

/** Options of {@link createRedisCapCounter}. */
export type RedisCapCounterParameters = {
  /** A connected ioredis client; the counter never closes it. */
  redis: RedisClient;
  /** Prefix of every key (default `x402:`); on a Redis Cluster it needs a hash tag (default there `{x402}:`). */
  keyPrefix?: string;
  /** How long totals and open reservations are kept, ms (default 3 days: the caps count per UTC day). */
  ttlMs?: number;
};

/**
 * KEYS: the reservation hash, then one total per limit; ARGV: amount, ttl ms, then each limit's max. Adds the
 * amount to every total unless one would pass its max (answers that limit's index), and records what it added.
 */
const RESERVE = redisScript(`${REDIS_DECIMAL_LUA}
local amount = ARGV[1]
for i = 2, #KEYS do
  local total = redis.call('GET', KEYS[i]) or '0'
  if cmp(digits(total, amount, 1), ARGV[1 + i]) > 0 then return i - 1 end
end
for i = 2, #KEYS do
  local total = redis.call('GET', KEYS[i]) or '0'
  redis.call('SET', KEYS[i], digits(total, amount, 1), 'PX', ARGV[2])
  redis.call('HSET', KEYS[1], KEYS[i], amount)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`);

/**
 * KEYS: the reservation hash, then the totals it may hold amounts of (read by the caller, declared here so a cluster
 * routes the script to their slot). Takes every amount the hash recorded for a declared total back out of it, then
 * forgets the reservation.
 */
const RELEASE = redisScript(`${REDIS_DECIMAL_LUA}
for i = 2, #KEYS do
  local held = redis.call('HGET', KEYS[1], KEYS[i])
  if held then
    local total = redis.call('GET', KEYS[i]) or '0'
    if cmp(total, held) >= 0 then redis.call('SET', KEYS[i], digits(total, held, -1), 'KEEPTTL') end
  end
end
redis.call('DEL', KEYS[1])
return 0`);

/**
 * Cap totals in Redis, shared by every server instance on every machine: a reservation checks and adds under
 * all its limits in one Lua script, so instances racing cannot pass a cap together. Amounts are decimal strings
 * (no 2^53 limit); totals expire after `ttlMs` (they are per UTC day).
 *
 * @example const risk = riskControls({ caps, capCounter: createRedisCapCounter({ redis: new Redis(url) }) });
 */
export function createRedisCapCounter(parameters: RedisCapCounterParameters): CapCounter {
  const { redis } = parameters;
  const prefix = redisKeyPrefix(redis, parameters.keyPrefix);
  const ttl = String(parameters.ttlMs ?? 3 * 86_400_000);
  const totalKey = (key: string) => `${prefix}cap:${key}`;
  const heldKey = (id: string) => `${prefix}cap-held:${id}`;
  return {
    tryReserve: (id, limits: readonly CapLimit[], amount) =>
      guardStore('redis caps', 'reserve', async () => {
        const reply = await runRedisScript(
          redis,
          RESERVE,
          [heldKey(id), ...limits.map((l) => totalKey(l.key))],
          [amount.toString(), ttl, ...limits.map((l) => l.max.toString())],
        );
        if (reply === 0) return { ok: true as const };
        const limit = typeof reply === 'number' ? limits[reply - 1] : undefined;
        if (!limit) throw new StoreCorruptError('redis caps', id, 'the reserve script gave an unexpected reply');
        return { ok: false as const, limit };
      }),
    commit: (id) =>
      guardStore('redis caps', 'commit', async () => {
        await redis.del(heldKey(id));
      }),
    release: (id) =>
      guardStore('redis caps', 'release', async () => {
        // The totals a reservation added to are written once, at reserve: read them, then release under declared keys.
        const totals = await redis.hkeys(heldKey(id));
        await runRedisScript(redis, RELEASE, [heldKey(id), ...totals], []);
      }),
    total: (key) => guardStore('redis caps', 'total', async () => BigInt((await redis.get(totalKey(key))) ?? '0')),
  };
}
