import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import { freePort, redisServerBinary } from './redisServer';

/** One redis-server of a local cluster. */
export type ClusterNode = { port: number; process: ChildProcess; exited: boolean };

/** A Redis Cluster started for a test run from Debian's redis-server. */
export type RedisClusterServer = {
  nodes: ClusterNode[];
  /** `host:port` of every node, for `new Cluster(...)`. */
  startupNodes: Array<{ host: string; port: number }>;
  /** A new ioredis Cluster client (closed by the caller, or by `redisClusterForTests`). */
  connect(): Cluster;
  /** Port of the primary that serves `key`'s slot right now. */
  primaryOf(key: string): Promise<number>;
  /**
   * SIGKILLs the primary of `key`'s slot and waits until its replica has taken over (the cluster is `ok` again with a
   * new primary for that slot). Needs replicas.
   */
  failOver(key: string): Promise<{ killed: number; promoted: number }>;
  stop(): Promise<void>;
};

async function command(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(args[0] as string, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a Redis Cluster on free loopback ports: `primaries` redis-server processes in cluster mode (in memory, node
 * timeout 1 s) plus `replicasEach` replicas per primary, joined with `redis-cli --cluster create`, and waits until
 * every node reports `cluster_state:ok`. Throws when it cannot start.
 *
 * @example const cluster = await startRedisCluster({ primaries: 3, replicasEach: 1 }); const client = cluster.connect();
 */
export async function startRedisCluster(
  options: { primaries?: number; replicasEach?: number; binary?: string } = {},
): Promise<RedisClusterServer> {
  const binary = options.binary ?? redisServerBinary();
  if (!binary) throw new Error('redis-server is not installed (apt-get install redis-server).');
  const primaries = options.primaries ?? 3;
  const replicasEach = options.replicasEach ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'x402-redis-cluster-'));
  const nodes: ClusterNode[] = [];
  const clients: Cluster[] = [];
  const stop = async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    await Promise.all(
      nodes.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.exited) return resolve();
            node.process.once('exit', () => resolve());
            node.process.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries * (1 + replicasEach); i++) {
      const port = await freePort();
      const child = spawn(
        binary,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '1000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      const node: ClusterNode = { port, process: child, exited: false };
      child.once('exit', () => {
        node.exited = true;
      });
      nodes.push(node);
    }
    for (const node of nodes) {
      const deadline = Date.now() + 10_000;
      while ((await command(node.port, 'PING').catch(() => undefined)) !== 'PONG') {
        if (node.exited || Date.now() > deadline)
          throw new Error(`redis-server on port ${node.port} did not start in cluster mode`);
        await sleep(50);
      }
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicasEach),
        '--cluster-yes',
      ],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout.slice(-2_000)} ${create.stderr}`);
    const deadline = Date.now() + 30_000;
    for (const node of nodes) {
      while (!String(await command(node.port, 'CLUSTER', 'INFO').catch(() => '')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok');
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const startupNodes = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  const live = () => nodes.filter((n) => !n.exited);

  async function primaryOf(key: string): Promise<number> {
    const slot = Number(await command(live()[0]?.port ?? 0, 'CLUSTER', 'KEYSLOT', key));
    const shards = (await command(live()[0]?.port ?? 0, 'CLUSTER', 'SLOTS')) as Array<
      [number, number, [string, number, ...unknown[]], ...unknown[]]
    >;
    const range = shards.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    return range[2][1];
  }

  return {
    nodes,
    startupNodes,
    connect() {
      const client = new Cluster(startupNodes, {
        clusterRetryStrategy: (times) => Math.min(100 * times, 1_000),
        redisOptions: { maxRetriesPerRequest: 5 },
      });
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    primaryOf,
    async failOver(key) {
      const killed = await primaryOf(key);
      const node = nodes.find((n) => n.port === killed);
      if (!node) throw new Error(`no node on port ${killed}`);
      node.process.kill('SIGKILL');
      await new Promise((resolve) => (node.exited ? resolve(undefined) : node.process.once('exit', resolve)));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const promoted = await primaryOf(key).catch(() => killed);
        const ok = String(await command(live()[0]?.port ?? 0, 'CLUSTER', 'INFO').catch(() => '')).includes(
          'cluster_state:ok',
        );
        if (promoted !== killed && ok) return { killed, promoted };
        if (Date.now() > deadline) throw new Error(`no replica took over from the primary on port ${killed}`);
        await sleep(100);
      }
    },
    stop,
  };
}

/**
 * Starts a 3-primary Redis Cluster for the calling test file (stopped with its clients in `afterAll`), or registers one
 * skipped test named after `suite` when redis-server is not installed (an error when `X402_REQUIRE_SERVERS=1`).
 *
 * @example const cluster = await redisClusterForTests('Redis Cluster payment store'); if (cluster) createRedisPaymentStore({ redis: cluster.connect() });
 */
export async function redisClusterForTests(
  suite: string,
  options: { replicasEach?: number } = {},
): Promise<RedisClusterServer | undefined> {
  const binary = redisServerBinary();
  if (!binary) {
    if (process.env.X402_REQUIRE_SERVERS === '1')
      throw new Error(
        `${suite}: redis-server is not installed and X402_REQUIRE_SERVERS=1 (apt-get install redis-server).`,
      );
    describe(suite, () =>
      it.skip('SKIPPED: redis-server is not installed (apt-get install redis-server, or set REDIS_SERVER_BIN)', () => {}),
    );
    return undefined;
  }
  const cluster = await startRedisCluster({ primaries: 3, replicasEach: options.replicasEach ?? 0, binary });
  afterAll(() => cluster.stop());
  return cluster;
}
