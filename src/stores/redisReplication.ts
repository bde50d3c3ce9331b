import type { Redis } from 'ioredis';
import { isRedisCluster, type RedisClient } from './redisScript';

/**
 * How many replicas must hold a decisive write before a Redis store answers. Redis replicates asynchronously: a
 * primary that dies before its replica received a write takes the write with it, and the promoted replica goes on
 * without it (a settled payment's receipt lost). `WAIT n timeout` after the write closes that window to "the primary
 * died within `timeoutMs` and no replica had it", at the price of one more round trip plus the replication lag on
 * each decisive write, and up to `timeoutMs` when no replica answers (the write stays on the primary; the store
 * answers anyway, since failing a settlement the chain already made would help nobody: a record lost even so is
 * found again on the chain, see `findSettlement`).
 *
 * - `replicas`: `'auto'` (default) waits for one replica when the primary reports one connected (asked with `ROLE`
 *   every few seconds), and not at all on a primary without replicas; a number waits for that many; `0` never waits.
 * - `timeoutMs`: the longest one write waits (default 1 000 ms).
 */
export type RedisReplicationParameters = { replicas?: number | 'auto'; timeoutMs?: number };

/** What {@link waitForReplicas} reports: how many replicas acknowledged, of how many it waited for. */
export type ReplicationResult = { wanted: number; acknowledged: number };

/** How long a primary's replica count (`ROLE`) is trusted, ms. */
const ROLE_TTL_MS = 5_000;

/**
 * Waits (Redis `WAIT`) until the replicas the policy asks for hold every write this client sent to the primary of
 * `key` so far. On a Cluster, `WAIT` goes over the connection to the primary of `key`'s slot (the one the write went
 * through), found in the client's slot table. Never throws: a primary unreachable now counts as nothing acknowledged.
 *
 * @example
 * const replication = redisReplication({ replicas: 'auto' });
 * await runRedisScript(redis, SETTLE, [key, pending], args);
 * await replication.wait(redis, key); // { wanted: 1, acknowledged: 1 }
 */
export function redisReplication(parameters: RedisReplicationParameters = {}): {
  wait(redis: RedisClient, key: string): Promise<ReplicationResult>;
} {
  const replicas = parameters.replicas ?? 'auto';
  const timeoutMs = Math.max(1, Math.floor(parameters.timeoutMs ?? 1_000));
  const roles = new WeakMap<Redis, { replicas: number; at: number }>();

  async function connectedReplicas(node: Redis): Promise<number> {
    const cached = roles.get(node);
    if (cached && Date.now() - cached.at < ROLE_TTL_MS) return cached.replicas;
    const role = await node.call('ROLE');
    const count = Array.isArray(role) && role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
    roles.set(node, { replicas: count, at: Date.now() });
    return count;
  }

  return {
    async wait(redis, key) {
      if (replicas === 0) return { wanted: 0, acknowledged: 0 };
      try {
        const node = primaryFor(redis, key);
        if (!node) return { wanted: replicas === 'auto' ? 1 : replicas, acknowledged: 0 };
        const wanted = replicas === 'auto' ? Math.min(1, await connectedReplicas(node)) : replicas;
        if (wanted === 0) return { wanted, acknowledged: 0 };
        const acknowledged = Number(await node.call('WAIT', wanted, timeoutMs));
        return { wanted, acknowledged: Number.isFinite(acknowledged) ? acknowledged : 0 };
      } catch {
        return { wanted: replicas === 'auto' ? 1 : replicas, acknowledged: 0 };
      }
    },
  };
}

/** The connection to the primary serving `key`: the client itself on one server, the slot's primary on a Cluster. */
function primaryFor(redis: RedisClient, key: string): Redis | undefined {
  if (!isRedisCluster(redis)) return redis;
  const nodeKey = redis.slots[keySlot(key)]?.[0];
  if (!nodeKey) return undefined;
  return redis.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === nodeKey);
}

/** The Redis Cluster hash slot of `key`: CRC16 (XMODEM) of its hash tag (`{…}`, when not empty) or whole key, mod 16384. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let from = 0;
  let to = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      from = open + 1;
      to = close;
    }
  }
  let crc = 0;
  for (let i = from; i < to; i++) {
    crc ^= (bytes[i] ?? 0) << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
