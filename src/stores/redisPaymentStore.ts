import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  selectSettled,
  type ClaimResult,
  type PaymentRecord,
  type ReplayAdmission,
  type SettledListingStore,
  type SettledPayment,
} from './paymentStore';
import { redisReplication, type RedisReplicationParameters } from './redisReplication';
import {
  isRedisCluster,
  redisKeyPrefix,
  redisScript,
  runRedisScript,
  type RedisClient,
  type RedisScript,
} from './redisScript';
import { guardStore, StoreCorruptError } from './storeErrors';
import { parseStoredReceipt } from './storedReceipt';

/** Options of {@link createRedisPaymentStore}. */
export type RedisPaymentStoreParameters = {
  /** A connected ioredis client (`new Redis(url)`); the store never closes it. */
  redis: RedisClient;
  /**
   * Prefix of every key (default `x402:`). The claim and transition scripts touch a record and the pending
   * set together: on a Redis Cluster it needs a hash tag (default there `{x402}:`), so they live in one slot.
   */
  keyPrefix?: string;
  /**
   * How long an abandoned claim (a process died holding it) stays in Redis after its lease ran out, so a late
   * settle still finds its request key (default one hour). An expired lease can be claimed again at once.
   */
  abandonedClaimTtlMs?: number;
  /** Clock, for tests (default `Date.now`); all instances sharing one Redis need roughly the same time. */
  now?: () => number;
  /**
   * Replicas that must hold each decisive write (settled, pending, failed) before the store answers: Redis
   * replicates asynchronously, so a primary killed before its replica got a receipt loses it on failover. Default
   * `{ replicas: 'auto', timeoutMs: 1000 }`: `WAIT 1 1000` after each of those writes when the primary has a replica
   * connected, nothing on a primary without one. See {@link RedisReplicationParameters} for the trade-off.
   */
  replication?: RedisReplicationParameters;
};

/** Record layout in Redis: JSON, with the receipt as its own JSON text (parsed by the receipt schema). */
const StoredSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('in_flight'), requestKey: z.string(), leaseUntil: z.number() }),
  z.object({
    state: z.literal('pending'),
    requestKey: z.string(),
    rail: z.string(),
    reference: z.string(),
    updatedAt: z.number(),
    intent: z.string().optional(),
  }),
  // Records settled by earlier versions have no settledAt: their replay window is closed.
  z.object({
    state: z.literal('settled'),
    requestKey: z.string(),
    receipt: z.string(),
    settledAt: z.number().default(0),
    replays: z.number().default(0),
  }),
  z.object({ state: z.literal('failed'), requestKey: z.string(), reason: z.string(), failedAt: z.number() }),
]);

/**
 * Takes over an expired in-flight lease (or a key that vanished meanwhile): answers { 1, the request key taken
 * over ('' when none) } when claimed, else the current value.
 */
const TAKE_OVER = redisScript(`
local cur = redis.call('GET', KEYS[1])
local from = ''
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if not (ok and type(rec) == 'table' and rec.state == 'in_flight' and tonumber(rec.leaseUntil) ~= nil
          and tonumber(rec.leaseUntil) <= tonumber(ARGV[2])) then
    return cur
  end
  if type(rec.requestKey) == 'string' then from = rec.requestKey end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return { 1, from }`);

/** Reads the request key of the current record, or stops with the record when it is settled (terminal). */
const READ_REQUEST_KEY = `
local cur = redis.call('GET', KEYS[1])
local rk = ''
local intent = nil
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' then
    if rec.state == 'settled' then return cur end
    if type(rec.requestKey) == 'string' then rk = rec.requestKey end
    if rec.state == 'pending' and type(rec.intent) == 'string' then intent = rec.intent end
  end
end`;

/** Settles: stores the receipt (first one wins: an earlier settled record is returned), persists the key, leaves the pending set. */
const SETTLE = redisScript(`${READ_REQUEST_KEY}
redis.call('SET', KEYS[1], cjson.encode({ state = 'settled', requestKey = rk, receipt = ARGV[1], settledAt = tonumber(ARGV[3]), replays = 0 }))
redis.call('SREM', KEYS[2], ARGV[2])
return 1`);

/** Marks a broadcast of unknown outcome as pending (unless settled), keeps the intent on record, joins the pending set. */
const MARK_PENDING = redisScript(`${READ_REQUEST_KEY}
if ARGV[5] ~= '' then intent = ARGV[5] end
redis.call('SET', KEYS[1], cjson.encode({ state = 'pending', requestKey = rk, rail = ARGV[1], reference = ARGV[2], updatedAt = tonumber(ARGV[3]), intent = intent }))
redis.call('SADD', KEYS[2], ARGV[4])
return 1`);

/** Records a definitive settlement failure (terminal unless settled), leaves the pending set. */
const FAIL = redisScript(`${READ_REQUEST_KEY}
redis.call('SET', KEYS[1], cjson.encode({ state = 'failed', requestKey = rk, reason = ARGV[1], failedAt = tonumber(ARGV[2]) }))
redis.call('SREM', KEYS[2], ARGV[3])
return 1`);

/** Reads the in-flight record held by owner ARGV[1] (any owner when ARGV[1] is ''), or returns 0. */
const READ_HELD = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if not (ok and type(rec) == 'table' and rec.state == 'in_flight') then return 0 end
if ARGV[1] ~= '' and rec.owner ~= ARGV[1] then return 0 end`;

/** Extends the lease of the claim held by owner ARGV[1] to ARGV[2], with a key TTL of ARGV[3] ms. */
const RENEW = redisScript(`${READ_HELD}
rec.leaseUntil = tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', ARGV[3])
return 1`);

/** Ends an in-flight claim's lease now, handing it back to request key ARGV[2] when given (KEEPTTL: the abandoned-claim expiry still applies). */
const EXPIRE_CLAIM = redisScript(`${READ_HELD}
rec.leaseUntil = 0
if ARGV[2] ~= '' then rec.requestKey = ARGV[2] end
redis.call('SET', KEYS[1], cjson.encode(rec), 'KEEPTTL')
return 1`);

/** Frees a record in state ARGV[1] only (in_flight: held by owner ARGV[3] when given; pending: also leaves the pending set). */
const RELEASE = redisScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if ok and type(rec) == 'table' and rec.state == ARGV[1] then
  if rec.state == 'in_flight' and ARGV[3] ~= '' and rec.owner ~= ARGV[3] then return 0 end
  redis.call('SREM', KEYS[2], ARGV[2])
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** Admits one replay of a settled payment for request key ARGV[1] at time ARGV[2]: window ARGV[3] ms, at most ARGV[4]. */
const REPLAY = redisScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 'not_replayable' end
local ok, rec = pcall(cjson.decode, cur)
if not (ok and type(rec) == 'table' and rec.state == 'settled' and rec.requestKey == ARGV[1]) then return 'not_replayable' end
if (tonumber(rec.settledAt) or 0) + tonumber(ARGV[3]) < tonumber(ARGV[2]) then return 'replay_window_closed' end
local replays = tonumber(rec.replays) or 0
if replays >= tonumber(ARGV[4]) then return 'replay_limit_reached' end
rec.replays = replays + 1
redis.call('SET', KEYS[1], cjson.encode(rec))
return 1`);

/**
 * Redis {@link PaymentStore} (ioredis) for servers on several machines. A claim is `SET key value NX PX`
 * (one round trip when the payment is new); when the key exists, a Lua script takes over an expired lease
 * atomically or returns the current record. Settle, markPending and release are Lua scripts too, so every
 * transition is atomic across all clients. Pending payments are also kept in a set for `listPending`.
 *
 * @example
 * import { Redis } from 'ioredis';
 * const store = createRedisPaymentStore({ redis: new Redis(process.env.REDIS_URL!) });
 * const app = paywall({ routes, rails, store });
 */
export function createRedisPaymentStore(parameters: RedisPaymentStoreParameters): SettledListingStore {
  const { redis } = parameters;
  const now = parameters.now ?? Date.now;
  const prefix = redisKeyPrefix(redis, parameters.keyPrefix);
  const abandonedTtl = parameters.abandonedClaimTtlMs ?? 3_600_000;
  const recordKey = (paymentId: string) => `${prefix}payment:${paymentId}`;
  const pendingKey = `${prefix}pending`;
  const replication = redisReplication(parameters.replication);
  /** Runs a decisive transition, then waits for the replicas the policy asks for (every key shares the slot of the pending set). */
  const decisive = async (script: RedisScript, keys: string[], args: Array<string | number>) => {
    const reply = await runRedisScript(redis, script, keys, args);
    await replication.wait(redis, pendingKey);
    return reply;
  };

  async function claimOnce(paymentId: string, requestKey: string, leaseMs: number): Promise<ClaimResult> {
    const key = recordKey(paymentId);
    const at = now();
    const owner = randomUUID();
    const value = JSON.stringify({ state: 'in_flight', requestKey, leaseUntil: at + leaseMs, owner });
    const ttl = Math.max(1, Math.ceil(leaseMs + abandonedTtl));
    if ((await redis.set(key, value, 'PX', ttl, 'NX')) === 'OK') return { claimed: true, owner };
    const reply = await runRedisScript(redis, TAKE_OVER, [key], [value, at, ttl]);
    if (Array.isArray(reply) && reply[0] === 1)
      return { claimed: true, owner, takeover: true, ...(typeof reply[1] === 'string' ? { takenFrom: reply[1] } : {}) };
    if (typeof reply !== 'string')
      throw new StoreCorruptError('redis', paymentId, 'the claim script gave an unexpected reply');
    return { claimed: false, record: decode(paymentId, reply) };
  }

  return {
    claim: (paymentId, requestKey, leaseMs) =>
      guardStore('redis', 'claim', () => claimOnce(paymentId, requestKey, leaseMs)),
    settle: (paymentId, receipt) =>
      guardStore('redis', 'settle', async () => {
        const reply = await decisive(
          SETTLE,
          [recordKey(paymentId), pendingKey],
          [JSON.stringify(receipt), paymentId, now()],
        );
        if (reply === 1) return receipt;
        const stored = typeof reply === 'string' ? decode(paymentId, reply) : undefined;
        if (stored?.state !== 'settled')
          throw new StoreCorruptError('redis', paymentId, 'the settle script gave an unexpected reply');
        return stored.receipt;
      }),
    markPending: (paymentId, rail, reference, intent) =>
      guardStore('redis', 'markPending', async () => {
        await decisive(
          MARK_PENDING,
          [recordKey(paymentId), pendingKey],
          [rail, reference, now(), paymentId, intent ?? ''],
        );
      }),
    renew: (paymentId, owner, leaseMs) =>
      guardStore('redis', 'renew', async () => {
        const leaseUntil = now() + leaseMs;
        const ttl = Math.max(1, Math.ceil(leaseMs + abandonedTtl));
        return (await runRedisScript(redis, RENEW, [recordKey(paymentId)], [owner, leaseUntil, ttl])) === 1;
      }),
    fail: (paymentId, reason) =>
      guardStore('redis', 'fail', async () => {
        await decisive(FAIL, [recordKey(paymentId), pendingKey], [reason, now(), paymentId]);
      }),
    release: (paymentId, state = 'in_flight', owner) =>
      guardStore('redis', 'release', async () => {
        await runRedisScript(redis, RELEASE, [recordKey(paymentId), pendingKey], [state, paymentId, owner ?? '']);
      }),
    expireClaim: (paymentId, owner, requestKey) =>
      guardStore('redis', 'expireClaim', async () => {
        await runRedisScript(redis, EXPIRE_CLAIM, [recordKey(paymentId)], [owner ?? '', requestKey ?? '']);
      }),
    replay: (paymentId, requestKey, policy) =>
      guardStore('redis', 'replay', async (): Promise<ReplayAdmission> => {
        const reply = await runRedisScript(
          redis,
          REPLAY,
          [recordKey(paymentId)],
          [requestKey, now(), policy.windowMs, policy.max],
        );
        if (reply === 1) return { admitted: true };
        if (reply === 'replay_window_closed' || reply === 'replay_limit_reached' || reply === 'not_replayable')
          return { admitted: false, reason: reply };
        throw new StoreCorruptError('redis', paymentId, 'the replay script gave an unexpected reply');
      }),
    get: (paymentId) =>
      guardStore('redis', 'get', async () => {
        const value = await redis.get(recordKey(paymentId));
        return value === null ? undefined : decode(paymentId, value);
      }),
    // Settled payments have no index of their own: SCAN the record keys (an operator's listing, not a hot path). On a
    // Cluster every key of the store shares one hash tag, so each primary is scanned and MGET stays in one slot.
    listSettled: (query) =>
      guardStore('redis', 'listSettled', async () => {
        const settled: SettledPayment[] = [];
        const keyOffset = recordKey('').length;
        const nodes: Redis[] = isRedisCluster(redis) ? redis.nodes('master') : [redis];
        for (const node of nodes) {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(
              cursor,
              'MATCH',
              `${recordKey('').replace(/[*?[\]\\]/g, '\\$&')}*`,
              'COUNT',
              500,
            );
            cursor = next;
            if (keys.length === 0) continue;
            const values = await node.mget(keys);
            keys.forEach((key, j) => {
              const value = values[j];
              if (value === null || value === undefined) return;
              const paymentId = key.slice(keyOffset);
              const record = decode(paymentId, value);
              if (record.state === 'settled') settled.push({ paymentId, record });
            });
          } while (cursor !== '0');
        }
        return selectSettled(settled, query);
      }),
    listPending: () =>
      guardStore('redis', 'listPending', async () => {
        const ids = (await redis.smembers(pendingKey)).sort();
        const out: Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }> = [];
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          const values = await redis.mget(chunk.map(recordKey));
          chunk.forEach((paymentId, j) => {
            const value = values[j];
            if (value === null || value === undefined) return;
            const record = decode(paymentId, value);
            if (record.state === 'pending') out.push({ paymentId, record });
          });
        }
        return out.sort((a, b) => a.record.updatedAt - b.record.updatedAt);
      }),
  };
}

/** Parses a stored value; anything unexpected is a {@link StoreCorruptError}. */
function decode(paymentId: string, value: string): PaymentRecord {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (cause) {
    throw new StoreCorruptError('redis', paymentId, 'the record is not valid JSON', { cause });
  }
  const parsed = StoredSchema.safeParse(json);
  if (!parsed.success)
    throw new StoreCorruptError('redis', paymentId, 'the record does not match the store layout', {
      cause: parsed.error,
    });
  const stored = parsed.data;
  if (stored.state !== 'settled') return stored;
  return {
    state: 'settled',
    requestKey: stored.requestKey,
    receipt: parseStoredReceipt('redis', paymentId, stored.receipt),
    settledAt: stored.settledAt,
    replays: stored.replays,
  };
}
