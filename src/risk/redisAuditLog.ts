import { z } from 'zod';
import { redisKeyPrefix, redisScript, runRedisScript, type RedisClient } from '../stores/redisScript';
import { guardStore, StoreCorruptError } from '../stores/storeErrors';
import { chainAuditEntry, matchesAuditQuery, type AuditEntry, type AuditLog, type AuditRecord } from './auditLog';
import type { AuditLogOptions } from './memoryAuditLog';

/** Options of {@link createRedisAuditLog}. */
export type RedisAuditLogOptions = AuditLogOptions & {
  /** A connected ioredis client; the log never closes it. */
  redis: RedisClient;
  /** Prefix of every key (default `x402:`); on a Redis Cluster it needs a hash tag (default there `{x402}:`). */
  keyPrefix?: string;
};

/** KEYS: head (`seq hash`), log; ARGV: the head the entry was chained to, the new head, seq, entry JSON. 1 = appended. */
const APPEND = redisScript(`
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('SET', KEYS[1], ARGV[2])
return 1`);

/** KEYS: log; ARGV: cutoff ms. Removes the oldest entries older than the cutoff; answers how many. */
const PRUNE = redisScript(`
local removed = 0
while true do
  local first = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #first == 0 then break end
  local ok, e = pcall(cjson.decode, first[1])
  if not ok or type(e) ~= 'table' or tonumber(e.at) == nil or tonumber(e.at) >= tonumber(ARGV[1]) then break end
  redis.call('ZREM', KEYS[1], first[1])
  removed = removed + 1
end
return removed`);

const EntrySchema = z.looseObject({
  seq: z.number(),
  prevHash: z.string(),
  hash: z.string(),
  kind: z.string(),
  at: z.number(),
});

/**
 * A Redis {@link AuditLog} for servers on several machines: one hash chain for all of them. An entry is chained
 * in the process to the head it read and appended by a Lua script only if that head is still current (else it
 * re-reads and chains again), so concurrent writers never fork the chain. Entries live in a sorted set by `seq`.
 *
 * @example const audit = createRedisAuditLog({ redis: new Redis(url), retentionMs: 365 * 86_400_000 });
 */
export function createRedisAuditLog(options: RedisAuditLogOptions): AuditLog {
  const { redis } = options;
  const prefix = redisKeyPrefix(redis, options.keyPrefix);
  const retention = options.retentionMs ?? 400 * 86_400_000;
  const now = options.now ?? Date.now;
  const headKey = `${prefix}audit:head`;
  const logKey = `${prefix}audit:log`;

  const parse = (text: string): AuditEntry => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new StoreCorruptError('redis audit', '(audit)', 'an entry is not JSON', { cause });
    }
    const parsed = EntrySchema.safeParse(json);
    if (!parsed.success)
      throw new StoreCorruptError('redis audit', '(audit)', 'an entry does not match the audit layout', {
        cause: parsed.error,
      });
    return parsed.data as AuditEntry;
  };

  return {
    append: (record: AuditRecord) =>
      guardStore('redis audit', 'append', async () => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const head = (await redis.get(headKey)) ?? '';
          const [seq, hash] = head === '' ? [] : head.split(' ');
          const entry = chainAuditEntry(
            record,
            seq !== undefined && hash !== undefined ? { seq: Number(seq), hash } : undefined,
          );
          const appended = await runRedisScript(
            redis,
            APPEND,
            [headKey, logKey],
            [head, `${entry.seq} ${entry.hash}`, entry.seq, JSON.stringify(entry)],
          );
          if (appended === 1) return entry;
        }
        throw new StoreCorruptError(
          'redis audit',
          '(audit)',
          'could not append after 100 attempts: the head keeps moving',
        );
      }),
    list: (query = {}) =>
      guardStore('redis audit', 'list', async () => {
        const all = (await redis.zrange(logKey, 0, -1)).map(parse);
        return all.filter((e) => matchesAuditQuery(e, query)).slice(0, query.limit ?? Infinity);
      }),
    prune: (at = now()) =>
      guardStore('redis audit', 'prune', async () => {
        const removed = await runRedisScript(redis, PRUNE, [logKey], [at - retention]);
        return typeof removed === 'number' ? removed : 0;
      }),
  };
}
