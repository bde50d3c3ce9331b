import { createHash, randomUUID } from 'node:crypto';
import {
  BUDGET_WINDOW_MS,
  budgetCovers,
  budgetExceeded,
  type Budget,
  type BudgetLedger,
  type Reservation,
} from '../client/budgetLedger';
import { ConfigurationError } from '../core/errors';
import { REDIS_DECIMAL_LUA } from './redisDecimal';
import { redisKeyPrefix, redisScript, runRedisScript, type RedisClient } from './redisScript';
import { guardStore, StoreCorruptError } from './storeErrors';

/** Options of {@link createRedisBudgetLedger}. */
export type RedisBudgetLedgerParameters = {
  /** A connected ioredis client; the ledger never closes it. */
  redis: RedisClient;
  /** The budgets (configuration; every client sharing them must pass the same ones). */
  budgets: Budget[];
  /** Prefix of every key (default `x402:`); on a Redis Cluster it needs a hash tag (default there `{x402}:`). */
  keyPrefix?: string;
};

/** Sums the live holds of one budget key (members `id:amount`, scored by time). */
const SUM = `
local function used(key, since)
  if since ~= '' then redis.call('ZREMRANGEBYSCORE', key, '-inf', since) end
  local total = '0'
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    total = digits(total, string.match(m, ':(%d+)$'), 1)
  end
  return total
end`;

/**
 * Checks and holds in one step (KEYS: one sorted set per matching budget; ARGV: now, member, amount, then a
 * `since, limit` pair per key with since '' for a total budget). Replies 'ok', or {index, used} of the first
 * budget that would be passed.
 */
const RESERVE = redisScript(`${REDIS_DECIMAL_LUA}${SUM}
local amount = ARGV[3]
for i, key in ipairs(KEYS) do
  local spent = used(key, ARGV[2 + 2 * i])
  if cmp(digits(spent, amount, 1), ARGV[3 + 2 * i]) > 0 then return {i, spent} end
end
for _, key in ipairs(KEYS) do redis.call('ZADD', key, ARGV[1], ARGV[2]) end
return 'ok'`);

/** Total of one budget key (KEYS: the key; ARGV: since or ''). */
const USED = redisScript(`${REDIS_DECIMAL_LUA}${SUM}
return used(KEYS[1], ARGV[1])`);

/**
 * Client budgets in Redis, shared by every client (machine, process) that uses the same server and budgets: the
 * same {@link BudgetLedger} contract as `createBudgetLedger` and the SQLite ledger (rolling hour / day / total
 * windows, per origin), with each reservation's check-and-hold in one Lua script, so clients racing on several
 * machines can never overspend. Holds are sorted-set members scored by time; a release removes them; amounts
 * are decimal strings (no 2^53 limit). A hold left by a client that died before commit or release keeps
 * counting (money that may have moved is never forgotten).
 *
 * @example
 * const ledger = createRedisBudgetLedger({ redis: new Redis(url), budgets: [{ asset: 'msat', limit: 1_000_000n, window: 'day' }] });
 * const pay = payingFetch(fetch, { adapters, wallets, ledger });
 */
export function createRedisBudgetLedger(parameters: RedisBudgetLedgerParameters): BudgetLedger {
  const { redis, budgets } = parameters;
  const prefix = redisKeyPrefix(redis, parameters.keyPrefix);
  for (const b of budgets) {
    if (BigInt(b.limit) < 0n)
      throw new ConfigurationError(`Budget limit ${String(b.limit)} for ${b.asset} must not be negative.`);
  }
  // A budget's key is its identity (not its limit, so raising a limit keeps what was spent) and its origin scope.
  const keyOf = (b: Budget, origin: string) => {
    const id = createHash('sha256')
      .update(JSON.stringify([b.asset.toLowerCase(), b.window, b.origin ?? null, b.perOrigin === true]))
      .digest('hex')
      .slice(0, 24);
    return `${prefix}budget:${id}:${b.perOrigin ? origin : '*'}`;
  };
  const since = (b: Budget, now: number) => (b.window === 'total' ? '' : String(now - BUDGET_WINDOW_MS[b.window]));

  return {
    budgets,
    used: (budget, origin, now = Date.now()) =>
      guardStore('redis budget', 'used', async () => {
        const reply = await runRedisScript(redis, USED, [keyOf(budget, origin)], [since(budget, now)]);
        if (typeof reply !== 'string')
          throw new StoreCorruptError('redis budget', origin, 'the used script gave an unexpected reply');
        return BigInt(reply);
      }),
    async reserve(spend): Promise<Reservation> {
      if (spend.amount < 0n) throw new ConfigurationError(`Cannot reserve a negative amount (${spend.amount}).`);
      const matching = budgets.filter((b) => budgetCovers(b, spend));
      const keys = matching.map((b) => keyOf(b, spend.origin));
      const member = `${randomUUID()}:${spend.amount}`;
      if (keys.length > 0) {
        const args = [
          String(spend.now),
          member,
          spend.amount.toString(),
          ...matching.flatMap((b) => [since(b, spend.now), BigInt(b.limit).toString()]),
        ];
        const reply = await guardStore('redis budget', 'reserve', () => runRedisScript(redis, RESERVE, keys, args));
        if (reply !== 'ok') {
          const [index, spent] = Array.isArray(reply) ? reply : [];
          const budget = typeof index === 'number' ? matching[index - 1] : undefined;
          if (!budget || typeof spent !== 'string')
            throw new StoreCorruptError('redis budget', spend.origin, 'the reserve script gave an unexpected reply');
          throw budgetExceeded(spend, budget, spent);
        }
      }
      let settled = false;
      return {
        amount: spend.amount,
        async commit() {
          settled = true;
        },
        async release() {
          if (settled) return;
          settled = true;
          if (keys.length > 0)
            await guardStore('redis budget', 'release', () => Promise.all(keys.map((k) => redis.zrem(k, member))));
        },
      };
    },
  };
}
