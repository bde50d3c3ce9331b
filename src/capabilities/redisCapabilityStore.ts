import { z } from 'zod';
import { REDIS_DECIMAL_LUA } from '../stores/redisDecimal';
import { redisKeyPrefix, redisScript, runRedisScript, type RedisClient } from '../stores/redisScript';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import type { CapabilityStore, ConsumeResult } from './capabilityStore';

/** Options of {@link createRedisCapabilityStore}. */
export type RedisCapabilityStoreParameters = {
  /** A connected ioredis client; the store never closes it. */
  redis: RedisClient;
  /** Prefix of every key (default `x402:`); on a Redis Cluster it needs a hash tag (default there `{x402}:`). */
  keyPrefix?: string;
};

const DECIMAL = REDIS_DECIMAL_LUA;

/**
 * Takes one use (KEYS: record hash, revocation key; ARGV: now ms, amount or ''). The same rule as
 * consumeCapability: revoked, unknown, expired, exhausted, rate limited, taken. Replies
 * {reason, remainingCalls, remainingAmount, retryAfterMs} with '' for absent fields.
 */
const CONSUME = redisScript(`${DECIMAL}
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return {'capability_revoked', '', '', ''} end
local f = redis.call('HMGET', KEYS[1], 'exp', 'calls', 'amount', 'cost', 'rate', 'tokens', 'refilled')
if not f[1] then return {'capability_unknown', '', '', ''} end
if tonumber(f[1]) <= now then return {'capability_expired', '', '', ''} end
local calls = f[2] and tonumber(f[2]) or nil
if calls and calls <= 0 then return {'capability_exhausted', '', '', ''} end
local amount = f[3]
local draw = nil
if amount then
  draw = (ARGV[2] ~= '' and ARGV[2]) or f[4] or '0'
  if cmp(amount, draw) < 0 then return {'capability_exhausted', '', '', ''} end
end
if f[5] then
  local rate = tonumber(f[5])
  local burst = math.max(1, rate)
  local refilled = tonumber(f[7])
  local tokens = math.min(burst, tonumber(f[6]) + math.max(0, now - refilled) / 1000 * rate)
  refilled = math.max(refilled, now)
  if tokens < 1 then
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'refilled', tostring(refilled))
    return {'capability_rate_limited', '', '', tostring(math.ceil((1 - tokens) / rate * 1000))}
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'refilled', tostring(refilled))
end
local left, rest = '', ''
if calls then left = tostring(redis.call('HINCRBY', KEYS[1], 'calls', -1)) end
if amount then rest = digits(amount, draw, -1); redis.call('HSET', KEYS[1], 'amount', rest) end
return {'ok', left, rest, ''}`);

/** Gives back one use (KEYS: record hash; ARGV: amount or ''). */
const RESTORE = redisScript(`${DECIMAL}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local f = redis.call('HMGET', KEYS[1], 'calls', 'amount', 'cost')
if f[1] then redis.call('HINCRBY', KEYS[1], 'calls', 1) end
local give = (ARGV[1] ~= '' and ARGV[1]) or f[3]
if f[2] and give then redis.call('HSET', KEYS[1], 'amount', digits(f[2], give, 1)) end
return 1`);

/**
 * Records a capability unless it is recorded already (KEYS: record hash; ARGV: expiry ms, then field/value pairs):
 * registering again never refills it. 1 = recorded now, 0 = kept as it was.
 */
const REGISTER = redisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1`);

/** Revokes (KEYS: record hash, revocation key; ARGV: until ms or ''): until then, else until the record expires, else forever. */
const REVOKE = redisScript(`
redis.call('SET', KEYS[2], '1')
local at = (ARGV[1] ~= '' and ARGV[1]) or redis.call('HGET', KEYS[1], 'exp')
if at then redis.call('PEXPIREAT', KEYS[2], at) end
return 1`);

const HashSchema = z.object({
  exp: z.string().regex(/^[0-9]+$/),
  calls: z
    .string()
    .regex(/^-?[0-9]+$/)
    .optional(),
  amount: z
    .string()
    .regex(/^[0-9]{1,78}$/)
    .optional(),
  cost: z
    .string()
    .regex(/^[0-9]{1,78}$/)
    .optional(),
  rate: z.string().optional(),
});

/**
 * Redis {@link CapabilityStore} (ioredis) for servers on several machines: one hash per capability (expiring
 * with it) and one key per revocation (expiring by the Redis server's clock; uses carry the caller's time). `consume` and `restore` are Lua scripts, so a use is taken atomically
 * across every instance; metered amounts are decimal strings with decimal arithmetic in Lua (no 2^53 limit).
 *
 * @example
 * const store = createRedisCapabilityStore({ redis: new Redis(process.env.REDIS_URL!) });
 * const caps = capabilities({ token, store, grants });
 */
export function createRedisCapabilityStore(parameters: RedisCapabilityStoreParameters): CapabilityStore {
  const { redis } = parameters;
  const prefix = redisKeyPrefix(redis, parameters.keyPrefix);
  const recordKey = (jti: string) => `${prefix}capability:${jti}`;
  const revokedKey = (jti: string) => `${prefix}capability-revoked:${jti}`;

  return {
    register: (record) =>
      guardStore('redis', 'register capability', async () => {
        const fields: Array<string | number> = [
          'exp',
          record.expiresAt,
          'tokens',
          record.rateLimit === undefined ? 0 : Math.max(1, record.rateLimit),
          'refilled',
          0,
        ];
        if (record.calls !== undefined) fields.push('calls', record.calls);
        if (record.amount !== undefined) fields.push('amount', record.amount.toString());
        if (record.costPerCall !== undefined) fields.push('cost', record.costPerCall.toString());
        if (record.rateLimit !== undefined) fields.push('rate', record.rateLimit);
        await runRedisScript(redis, REGISTER, [recordKey(record.jti)], [record.expiresAt, ...fields]);
      }),
    consume: (jti, use) =>
      guardStore('redis', 'consume capability', async () => {
        const reply = await runRedisScript(
          redis,
          CONSUME,
          [recordKey(jti), revokedKey(jti)],
          [use.now, use.amount?.toString() ?? ''],
        );
        return toResult(jti, reply);
      }),
    restore: (jti, use) =>
      guardStore('redis', 'restore capability', async () => {
        await runRedisScript(redis, RESTORE, [recordKey(jti)], [use.amount?.toString() ?? '']);
      }),
    revoke: (jti, expiresAt) =>
      guardStore('redis', 'revoke capability', async () => {
        await runRedisScript(redis, REVOKE, [recordKey(jti), revokedKey(jti)], [expiresAt?.toString() ?? '']);
      }),
    get: (jti) =>
      guardStore('redis', 'get capability', async () => {
        const [hash, revoked] = await Promise.all([redis.hgetall(recordKey(jti)), redis.pttl(revokedKey(jti))]);
        if (Object.keys(hash).length === 0) return undefined;
        const parsed = HashSchema.safeParse(hash);
        if (!parsed.success)
          throw new StoreCorruptError('redis capability', jti, 'the hash does not match the store layout', {
            cause: parsed.error,
          });
        const h = parsed.data;
        const expiresAt = Number(h.exp);
        return {
          jti,
          expiresAt,
          ...(h.calls !== undefined ? { calls: Number(h.calls) } : {}),
          ...(h.amount !== undefined ? { amount: BigInt(h.amount) } : {}),
          ...(h.cost !== undefined ? { costPerCall: BigInt(h.cost) } : {}),
          ...(h.rate !== undefined ? { rateLimit: Number(h.rate) } : {}),
          // PTTL: -1 = no expiry (revoked forever), > 0 = revoked for that long, -2 = no revocation.
          revoked: revoked === -1 || revoked > 0,
        };
      }),
  };
}

/** Parses the consume script's reply. */
function toResult(jti: string, reply: unknown): ConsumeResult {
  const parsed = z.tuple([z.string(), z.string(), z.string(), z.string()]).safeParse(reply);
  if (!parsed.success)
    throw new StoreCorruptError('redis capability', jti, 'the consume script gave an unexpected reply', {
      cause: parsed.error,
    });
  const [reason, calls, amount, retryAfter] = parsed.data;
  if (reason === 'ok')
    return {
      ok: true,
      ...(calls !== '' ? { remainingCalls: Number(calls) } : {}),
      ...(amount !== '' ? { remainingAmount: BigInt(amount) } : {}),
    };
  if (reason === 'capability_rate_limited') return { ok: false, reason, retryAfterMs: Number(retryAfter) };
  if (
    reason === 'capability_unknown' ||
    reason === 'capability_exhausted' ||
    reason === 'capability_revoked' ||
    reason === 'capability_expired'
  )
    return { ok: false, reason };
  throw new StoreCorruptError('redis capability', jti, `the consume script answered ${reason.slice(0, 40)}`);
}
