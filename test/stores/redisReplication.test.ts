/**
 * The Redis payment store waits for a replica after each decisive write (settled, pending, failed), so a primary
 * failed over right after a settlement does not take the receipt with it. Shown on a 3-primary cluster with one
 * replica each: with the replica frozen (SIGSTOP), settle does not answer until the replica is back and has the
 * record; the primary is then SIGKILLed and the promoted replica holds the settled record. Without replication
 * (`replicas: 0`) settle answers at once; with a replica that never answers it gives up after its timeout; on a
 * primary without replicas `'auto'` does not wait at all.
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisPaymentStore } from '../../src/stores/redisPaymentStore';
import { keySlot } from '../../src/stores/redisReplication';
import { redisServerBinary } from '../support/redisServer';
import { startRedisCluster, type RedisClusterServer } from '../support/redisCluster';
import { sampleReceipt } from './paymentStoreContract';

const PREFIX = '{durable}:';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!redisServerBinary())('Redis payment store: a replica holds each settlement before it answers', () => {
  let cluster: RedisClusterServer;
  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasEach: 1 });
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  /** The replica process of the primary that serves the store's slot (once that replica is in sync). */
  async function replicaOfStore(): Promise<ChildProcess> {
    const primary = await cluster.primaryOf(`${PREFIX}pending`);
    const client = new Redis({ port: primary, host: '127.0.0.1' });
    try {
      for (let tries = 0; tries < 100; tries++) {
        const role = await client.call('ROLE');
        const replicas = Array.isArray(role) && Array.isArray(role[2]) ? role[2] : [];
        const port = Number(Array.isArray(replicas[0]) ? replicas[0][1] : Number.NaN);
        const replica = cluster.nodes.find((n) => n.port === port && !n.exited);
        if (replica) return replica.process;
        await sleep(100);
      }
    } finally {
      client.disconnect();
    }
    throw new Error(`no replica of the primary on port ${primary}`);
  }

  /** Runs `work` with the store's replica frozen for `ms`; answers how long `work` took and whether it was done before the thaw. */
  async function withFrozenReplica(ms: number, work: () => Promise<unknown>) {
    const replica = await replicaOfStore();
    replica.kill('SIGSTOP');
    const started = Date.now();
    let doneAt: number | undefined;
    const running = work().then(() => {
      doneAt = Date.now();
    });
    try {
      await sleep(ms);
    } finally {
      replica.kill('SIGCONT');
    }
    await running;
    return { tookMs: (doneAt ?? Date.now()) - started, beforeThaw: doneAt !== undefined && doneAt - started < ms };
  }

  it('computes the cluster hash slot as Redis does', async () => {
    const client = cluster.connect();
    for (const key of [PREFIX, `${PREFIX}payment:abc`, 'plain', '{}x', 'a{b}c', 'é{ü}', '{x402}:pending']) {
      expect(keySlot(key), key).toBe(Number(await client.call('CLUSTER', 'KEYSLOT', key)));
    }
  });

  it('replicas: 0 answers at once, a replica that never answers is waited for only up to the timeout', async () => {
    const off = createRedisPaymentStore({ redis: cluster.connect(), keyPrefix: PREFIX, replication: { replicas: 0 } });
    await off.claim('off', 'r', 10_000);
    expect((await withFrozenReplica(600, () => off.settle('off', sampleReceipt()))).beforeThaw).toBe(true);

    const bounded = createRedisPaymentStore({
      redis: cluster.connect(),
      keyPrefix: PREFIX,
      replication: { replicas: 1, timeoutMs: 200 },
    });
    await bounded.claim('bounded', 'r', 10_000);
    const run = await withFrozenReplica(1_500, () => bounded.settle('bounded', sampleReceipt()));
    expect(run.beforeThaw).toBe(true);
    expect(run.tookMs).toBeGreaterThanOrEqual(190);
    expect((await bounded.get('bounded'))?.state).toBe('settled');
  });

  it('by default settle answers only once the replica has the record, and the record survives the primary', async () => {
    const store = createRedisPaymentStore({ redis: cluster.connect(), keyPrefix: PREFIX });
    await store.claim('durable', 'r', 10_000);
    const run = await withFrozenReplica(400, () => store.settle('durable', sampleReceipt()));
    expect(run.beforeThaw).toBe(false);
    expect(run.tookMs).toBeGreaterThanOrEqual(400);

    // The primary dies at once after the answer: the promoted replica has the settled record.
    await cluster.failOver(`${PREFIX}pending`);
    const after = createRedisPaymentStore({
      redis: cluster.connect(),
      keyPrefix: PREFIX,
      replication: { replicas: 'auto', timeoutMs: 5_000 },
    });
    expect(await after.get('durable')).toMatchObject({ state: 'settled', requestKey: 'r' });

    // The promoted primary has no replica left: 'auto' does not wait on it (a 5 s timeout would show).
    const started = Date.now();
    await after.claim('alone', 'r', 10_000);
    await after.settle('alone', sampleReceipt());
    expect(Date.now() - started).toBeLessThan(2_500);
  }, 60_000);
});
