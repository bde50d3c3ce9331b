/**
 * Every idempotency store of `payment-identifier` passes the same contract: memory (one handle), SQLite (two
 * connections to one file, and a reopened file), Redis (two clients; Cluster when available), Postgres (a real
 * server with two pools, and embedded PGlite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMemoryIdempotencyStore,
  createPostgresIdempotencyStore,
  createRedisIdempotencyStore,
  createSqliteIdempotencyStore,
} from '../../../src/extensions/index';
import { StoreCorruptError } from '../../../src/stores/storeErrors';
import { postgresForTests, type PostgresFixture } from '../../support/postgresForTests';
import { redisClusterForTests } from '../../support/redisCluster';
import { redisForTests } from '../../support/redisForTests';
import { describeIdempotencyStoreContract } from './idempotencyStoreContract';

describeIdempotencyStoreContract('memory (one process)', () => {
  const store = createMemoryIdempotencyStore();
  return { store, peer: store, close: () => {} };
});

const dir = mkdtempSync(join(tmpdir(), 'x402-idempotency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
describeIdempotencyStoreContract('sqlite (two connections to one file)', () => {
  const path = join(dir, `ids${files++}.sqlite`);
  const store = createSqliteIdempotencyStore({ path });
  const peer = createSqliteIdempotencyStore({ path });
  return {
    store,
    peer,
    close: () => {
      store.close();
      peer.close();
    },
  };
});

describe('SQLite idempotency store', () => {
  it('a kept answer survives closing and reopening the file (a restart); a corrupt answer is a StoreCorruptError', async () => {
    const path = join(dir, 'restart.sqlite');
    const first = createSqliteIdempotencyStore({ path });
    const now = Date.now();
    await first.reserve('k-restart-000000000001', 'fp', 60_000, now);
    await first.complete(
      'k-restart-000000000001',
      'fp',
      { status: 200, headers: [], body: new Uint8Array([1]) },
      60_000,
      now,
    );
    first.close();
    const second = createSqliteIdempotencyStore({ path });
    expect(await second.reserve('k-restart-000000000001', 'fp', 60_000, Date.now())).toEqual({
      fingerprint: 'fp',
      response: { status: 200, headers: [], body: new Uint8Array([1]) },
    });
    second.database.prepare(`UPDATE x402_idempotency SET response = 'garbage'`).run();
    await expect(second.reserve('k-restart-000000000001', 'fp', 60_000, Date.now())).rejects.toBeInstanceOf(
      StoreCorruptError,
    );
    second.close();
  });
});

const harness = await redisForTests('Redis idempotency store');
if (harness) {
  let prefixes = 0;
  describeIdempotencyStoreContract('redis (two ioredis clients)', () => {
    const keyPrefix = `ids${prefixes++}:`;
    return {
      store: createRedisIdempotencyStore({ redis: harness.connect(), keyPrefix }),
      peer: createRedisIdempotencyStore({ redis: harness.connect(), keyPrefix }),
      close: () => {},
    };
  });
}
const cluster = await redisClusterForTests('Redis Cluster idempotency store');
if (cluster) {
  let tags = 0;
  describeIdempotencyStoreContract('redis cluster (two Cluster clients)', () => {
    const keyPrefix = `{ids${tags++}}:`;
    return {
      store: createRedisIdempotencyStore({ redis: cluster.connect(), keyPrefix }),
      peer: createRedisIdempotencyStore({ redis: cluster.connect(), keyPrefix }),
      close: () => {},
    };
  });
}

const pgs = await postgresForTests('Postgres idempotency store');
const postgresPair = (make: () => Promise<PostgresFixture>) => async () => {
  const { source, peer, tablePrefix } = await make();
  const store = createPostgresIdempotencyStore({ ...source, tablePrefix });
  await store.migrate();
  return { store, peer: createPostgresIdempotencyStore({ ...peer, tablePrefix }), close: () => {} };
};
if (pgs.server) describeIdempotencyStoreContract('postgres (server, two pools)', postgresPair(pgs.server.fresh));
describeIdempotencyStoreContract('postgres (embedded PGlite, one connection)', postgresPair(pgs.pglite.fresh));
