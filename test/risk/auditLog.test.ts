import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMemoryAuditLog,
  createRedisAuditLog,
  createSqliteAuditLog,
  evidenceDigest,
  redactSpendable,
  verifyAuditChain,
  type AuditLog,
  type AuditRecord,
} from '../../src/risk/index';
import { createPostgresAuditLog } from '../../src/risk/postgresAuditLog';
import { postgresForTests, type PostgresFixture } from '../support/postgresForTests';
import { redisClusterForTests } from '../support/redisCluster';
import { redisForTests } from '../support/redisForTests';

const dir = mkdtempSync(join(tmpdir(), 'x402-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

const record = (at: number, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  kind: 'payment',
  at,
  route: 'GET /paid',
  paymentId: `p${at}`,
  payer: '0xabc',
  amount: '1000',
  evidence: { payload: { sig: 'x', n: 1 } },
  ...extra,
});

const redis = await redisForTests('Redis audit log');
let redisLogs = 0;
const pgs = await postgresForTests('Postgres audit log');
const cluster = await redisClusterForTests('Redis Cluster audit log');
let clusterLogs = 0;
/** Each Postgres log gets its own freshly migrated tables (a chain starts at 1). */
const postgresLog = (fresh: () => Promise<PostgresFixture>) => async (now: () => number) => {
  const { source, tablePrefix } = await fresh();
  return createPostgresAuditLog({ ...source, tablePrefix, retentionMs: 30 * DAY, now });
};
const logs: Array<[string, (clock: () => number) => AuditLog | Promise<AuditLog>]> = [
  ['memory', (now) => createMemoryAuditLog({ retentionMs: 30 * DAY, now })],
  ['sqlite', (now) => createSqliteAuditLog({ path: join(dir, `${Math.random()}.sqlite`), retentionMs: 30 * DAY, now })],
  ...(redis
    ? [
        [
          'redis',
          (now: () => number) =>
            createRedisAuditLog({
              redis: redis.connect(),
              keyPrefix: `audit${redisLogs++}:`,
              retentionMs: 30 * DAY,
              now,
            }),
        ] as [string, (clock: () => number) => AuditLog],
      ]
    : []),
  ...(pgs.server
    ? [['postgres (server)', postgresLog(pgs.server.fresh)] as [string, (clock: () => number) => Promise<AuditLog>]]
    : []),
  ['postgres (embedded PGlite)', postgresLog(pgs.pglite.fresh)],
  ...(cluster
    ? [
        [
          'redis cluster (3 primaries)',
          (now: () => number) =>
            createRedisAuditLog({
              redis: cluster.connect(),
              keyPrefix: `{audit${clusterLogs++}}:`,
              retentionMs: 30 * DAY,
              now,
            }),
        ] as [string, (clock: () => number) => AuditLog],
      ]
    : []),
];

describe.each(logs)('%s audit log', (_name, make) => {
  it('appends in order, chains every entry, filters, and reads back exactly what was written', async () => {
    const log = await make(() => T0);
    for (let i = 0; i < 5; i++)
      await log.append(record(T0 + i, i === 3 ? { kind: 'settlement', outcome: 'settled', reason: undefined } : {}));
    const all = await log.list();
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all[0]?.prevHash).toBe('genesis');
    expect(verifyAuditChain(all)).toEqual({ ok: true, entries: 5 });
    expect(await log.list({ kind: 'settlement' })).toMatchObject([{ seq: 4, outcome: 'settled' }]);
    expect(await log.list({ paymentId: `p${T0 + 1}` })).toHaveLength(1);
    expect(await log.list({ since: T0 + 3, limit: 1 })).toMatchObject([{ seq: 4 }]);
    // The payload is spendable until it settles: the log keeps its digest, never the payload (was: the payload itself).
    expect(all[0]?.evidence).toEqual({ payloadSha256: evidenceDigest({ sig: 'x', n: 1 }) });
    expect(JSON.stringify(all)).not.toContain('"sig"');
  });

  it('stores no spendable value at any depth: payloads, preimages, macaroons, proofs, tokens, hex signatures become digests', async () => {
    const log = await make(() => T0);
    const secrets = {
      preimage: 'aa'.repeat(32),
      macaroon: 'AgEEbHNhdAJC',
      proof: 'bb'.repeat(32),
      token: 'eyJhbGciOi.x.y',
      sig: `0x${'cd'.repeat(65)}`,
      tx: 'AQAAAAAAAAAA',
    };
    await log.append(
      record(T0, {
        evidence: {
          payload: { transaction: secrets.tx },
          nested: {
            l402: { preimage: secrets.preimage, macaroon: secrets.macaroon },
            list: [{ token: secrets.token }],
          },
          receipt: { id: 'r1', proof: secrets.proof, signature: 'eyJ..jws' },
          permit: { signature: secrets.sig },
        },
      }),
    );
    const [entry] = await log.list();
    const text = JSON.stringify(entry);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    expect(entry?.evidence).toEqual({
      payloadSha256: evidenceDigest({ transaction: secrets.tx }),
      nested: {
        l402: { preimageSha256: evidenceDigest(secrets.preimage), macaroonSha256: evidenceDigest(secrets.macaroon) },
        list: [{ tokenSha256: evidenceDigest(secrets.token) }],
      },
      receipt: { id: 'r1', proofSha256: evidenceDigest(secrets.proof), signature: 'eyJ..jws' },
      permit: { signatureSha256: evidenceDigest(secrets.sig) },
    });
    expect(verifyAuditChain([entry!])).toEqual({ ok: true, entries: 1 });
    expect(redactSpendable({ kind: 'challenge', at: T0 })).toEqual({ kind: 'challenge', at: T0 });
  });

  it('prunes only what is past the retention; what is left still verifies as a chain', async () => {
    let clock = T0;
    const log = await make(() => clock);
    await log.append(record(T0));
    await log.append(record(T0 + 10 * DAY));
    await log.append(record(T0 + 40 * DAY));
    clock = T0 + 45 * DAY;
    expect(await log.prune()).toBe(2);
    const left = await log.list();
    expect(left.map((e) => e.seq)).toEqual([3]);
    expect(verifyAuditChain(left).ok).toBe(true);
    expect(await log.prune()).toBe(0);
  });
});

describe('sqlite audit log', () => {
  it('refuses to update an entry, and two connections on one file keep one chain', async () => {
    const path = join(dir, 'shared.sqlite');
    const a = createSqliteAuditLog({ path });
    const b = createSqliteAuditLog({ path });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append(record(T0 + i))));
    const all = await a.list();
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(verifyAuditChain(all).ok).toBe(true);
    const raw = new Database(path);
    expect(() => raw.prepare(`UPDATE x402_audit SET body = '{}' WHERE seq = 1`).run()).toThrow(/append-only/);
    raw.close();
    a.close();
    b.close();
  });
});

if (redis) {
  describe('redis audit log', () => {
    it('writers on several connections keep one unbroken chain', async () => {
      const writers = Array.from({ length: 4 }, () =>
        createRedisAuditLog({ redis: redis.connect(), keyPrefix: 'shared-audit:' }),
      );
      await Promise.all(Array.from({ length: 40 }, (_, i) => (writers[i % 4] as AuditLog).append(record(T0 + i))));
      const all = await writers[0]?.list();
      expect(all?.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(verifyAuditChain(all ?? [])).toEqual({ ok: true, entries: 40 });
    });
  });
}

describe.runIf(pgs.server)('postgres audit log', () => {
  it('refuses to update an entry, and writers on several pools keep one unbroken chain', async () => {
    const server = pgs.server;
    if (!server) return;
    const { tablePrefix } = await server.fresh();
    const writers = Array.from({ length: 4 }, () => createPostgresAuditLog({ pool: server.pool(), tablePrefix }));
    await Promise.all(Array.from({ length: 40 }, (_, i) => (writers[i % 4] as AuditLog).append(record(T0 + i))));
    const all = await writers[0]?.list();
    expect(all?.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(verifyAuditChain(all ?? [])).toEqual({ ok: true, entries: 40 });
    await expect(server.pool().query(`UPDATE ${tablePrefix}audit SET body = '{}' WHERE seq = 1`)).rejects.toThrow(
      /append-only/,
    );
  });
});
