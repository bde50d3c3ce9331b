import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/core/errors';
import { defaultPaymentStore } from '../../src/stores/defaultPaymentStore';
import { createSqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import { StoreCorruptError, StoreUnavailableError } from '../../src/stores/storeErrors';
import { describePaymentStoreContract, sampleReceipt, type Corruption } from './paymentStoreContract';
import { raceInProcesses } from './support/forkWorkers';

const dir = mkdtempSync(join(tmpdir(), 'x402-sqlite-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `store-${files++}.sqlite`);

const damage: Record<Corruption, string> = {
  'receipt-not-json': `UPDATE x402_payments SET receipt = '{"v":1,' WHERE payment_id = ?`,
  'receipt-off-schema': `UPDATE x402_payments SET receipt = '{"v":2,"amount":1.5}' WHERE payment_id = ?`,
  'unknown-state': `UPDATE x402_payments SET state = 'refunded' WHERE payment_id = ?`,
};

describePaymentStoreContract('sqlite (temp file, two connections)', () => {
  const path = freshPath();
  const store = createSqlitePaymentStore({ path });
  const peer = createSqlitePaymentStore({ path });
  return {
    store,
    peer,
    corrupt: (paymentId, how) => {
      store.database.prepare(damage[how]).run(paymentId);
    },
    close: () => {
      store.close();
      peer.close();
    },
  };
});

describe('SQLite payment store', () => {
  it('two processes sharing one file: 2 × 200 concurrent claims of one payment → exactly one winner', async () => {
    const path = freshPath();
    createSqlitePaymentStore({ path }).close(); // create the schema before the race
    for (let round = 0; round < 3; round++) {
      const reports = await raceInProcesses<{ wins: number }>(2, [
        'claim',
        path,
        `evm-eip3009:proc-race-${round}`,
        '200',
      ]);
      expect(reports.reduce((sum, r) => sum + r.wins, 0)).toBe(1);
    }
  });

  it('survives a restart: settled and pending records are read back from the file', async () => {
    const path = freshPath();
    const first = createSqlitePaymentStore({ path });
    await first.claim('p1', 'req-1', 10_000);
    await first.settle('p1', sampleReceipt());
    await first.claim('p2', 'req-2', 10_000);
    await first.markPending('p2', 'solana-spl', 'sig2');
    first.close();
    const second = createSqlitePaymentStore({ path });
    expect(await second.get('p1')).toEqual({
      state: 'settled',
      requestKey: 'req-1',
      receipt: sampleReceipt(),
      settledAt: expect.any(Number),
      replays: 0,
    });
    expect(await second.listPending()).toEqual([
      { paymentId: 'p2', record: expect.objectContaining({ state: 'pending', rail: 'solana-spl', reference: 'sig2' }) },
    ]);
    second.close();
  });

  it('opens a file written before owners, replays and failures existed: its settled rows are read back, replay-closed', async () => {
    const path = freshPath();
    const old = new Database(path);
    old.exec(`CREATE TABLE x402_payments (payment_id TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL, request_key TEXT NOT NULL,
      lease_until INTEGER, receipt TEXT, rail TEXT, reference TEXT, updated_at INTEGER NOT NULL) WITHOUT ROWID`);
    old
      .prepare(`INSERT INTO x402_payments VALUES ('p1', 'settled', 'req-1', NULL, ?, 'evm-eip3009', '0xabc123', 1000)`)
      .run(JSON.stringify(sampleReceipt()));
    old.prepare(`INSERT INTO x402_payments VALUES ('p2', 'in_flight', 'req-2', 1, NULL, NULL, NULL, 1)`).run();
    old.close();
    const store = createSqlitePaymentStore({ path });
    expect(await store.get('p1')).toEqual({
      state: 'settled',
      requestKey: 'req-1',
      receipt: sampleReceipt(),
      settledAt: 1000,
      replays: 0,
    });
    expect(await store.replay('p1', 'req-1', { windowMs: 60_000, max: 3 })).toEqual({
      admitted: false,
      reason: 'replay_window_closed',
    });
    // an old claim has no owner: it can only be taken over, never renewed
    expect(await store.renew('p2', 'anyone', 10_000)).toBe(false);
    expect(await store.claim('p2', 'req-3', 10_000)).toMatchObject({
      claimed: true,
      takeover: true,
      takenFrom: 'req-2',
    });
    await store.fail('p2', 'settlement_reverted');
    expect(await store.get('p2')).toMatchObject({ state: 'failed', reason: 'settlement_reverted' });
    store.close();
  });

  it('uses WAL and a busy timeout; a table prefix keeps stores apart in one file', async () => {
    const path = freshPath();
    const a = createSqlitePaymentStore({ path, tablePrefix: 'a_' });
    const b = createSqlitePaymentStore({ path, tablePrefix: 'b_' });
    expect(a.database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(a.database.pragma('busy_timeout', { simple: true })).toBe(5000);
    await a.claim('same', 'req-a', 10_000);
    expect(await b.claim('same', 'req-b', 10_000)).toMatchObject({ claimed: true });
    a.close();
    b.close();
    expect(() => createSqlitePaymentStore({ path, tablePrefix: 'x; DROP TABLE y; --' })).toThrow(ConfigurationError);
  });

  it('leaves a database passed in open on close()', async () => {
    const database = new Database(freshPath());
    const store = createSqlitePaymentStore({ database });
    await store.claim('p', 'r', 1_000);
    store.close();
    expect(database.open).toBe(true);
    database.close();
  });

  it('a corrupt pending row fails listPending with a typed error', async () => {
    const store = createSqlitePaymentStore({ path: freshPath() });
    await store.claim('p', 'r', 1_000);
    await store.markPending('p', 'evm-eip3009', '0x1');
    store.database.prepare(`UPDATE x402_payments SET reference = NULL WHERE payment_id = 'p'`).run();
    await expect(store.listPending()).rejects.toBeInstanceOf(StoreCorruptError);
    store.close();
  });

  it('defaultPaymentStore is the SQLite store in the file given', async () => {
    const path = freshPath();
    const store = defaultPaymentStore({ path });
    await store.claim('p', 'r', 1_000);
    store.close();
    const reopened = createSqlitePaymentStore({ path });
    expect(await reopened.get('p')).toMatchObject({ state: 'in_flight', requestKey: 'r' });
    reopened.close();
  });
});

describe('SQLite payment store: a locked file', () => {
  it('a write lock held past the busy timeout is a StoreUnavailableError (503), not a crash', async () => {
    const path = freshPath();
    const store = createSqlitePaymentStore({ path, busyTimeoutMs: 50 });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const error = await store.claim('p', 'r', 1_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error instanceof StoreUnavailableError && error.status).toBe(503);
    other.exec('ROLLBACK');
    expect(await store.claim('p', 'r', 1_000)).toMatchObject({ claimed: true });
    other.close();
    store.close();
  });
});
