import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCapabilityStore } from '../../src/capabilities/sqliteCapabilityStore';
import { StoreCorruptError } from '../../src/stores/storeErrors';
import { describeCapabilityStoreContract } from './capabilityStoreContract';

const dir = mkdtempSync(join(tmpdir(), 'x402-capabilities-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describeCapabilityStoreContract('sqlite (two connections to one file)', () => {
  const path = join(dir, `caps${files++}.sqlite`);
  const store = createSqliteCapabilityStore({ path });
  const peer = createSqliteCapabilityStore({ path });
  return {
    store,
    peer,
    close: () => {
      store.close();
      peer.close();
    },
  };
});

describe('SQLite capability store', () => {
  it('a capability survives closing and reopening the file, revocation included', async () => {
    const path = join(dir, 'reopen.sqlite');
    const first = createSqliteCapabilityStore({ path });
    await first.register({ jti: 'survivor-1', calls: 3, expiresAt: Date.now() + 60_000 });
    await first.register({ jti: 'revoked-1', calls: 3, expiresAt: Date.now() + 60_000 });
    await first.consume('survivor-1', { now: Date.now() });
    await first.revoke('revoked-1');
    first.close();
    const second = createSqliteCapabilityStore({ path });
    expect(await second.consume('survivor-1', { now: Date.now() })).toEqual({ ok: true, remainingCalls: 1 });
    expect(await second.consume('revoked-1', { now: Date.now() })).toEqual({ ok: false, reason: 'capability_revoked' });
    second.close();
  });

  it('expired rows are swept on registration; a corrupt row is a StoreCorruptError, not a crash', async () => {
    const database = new Database(':memory:');
    const store = createSqliteCapabilityStore({ database, sweepEvery: 2, now: () => 10_000 });
    await store.register({ jti: 'old-capability', calls: 1, expiresAt: 5_000 });
    await store.register({ jti: 'new-capability', calls: 1, expiresAt: 50_000 });
    expect(database.prepare('SELECT jti FROM x402_capabilities').all()).toEqual([{ jti: 'new-capability' }]);
    database.prepare(`UPDATE x402_capabilities SET amount = 'lots' WHERE jti = 'new-capability'`).run();
    await expect(store.consume('new-capability', { now: 10_000 })).rejects.toBeInstanceOf(StoreCorruptError);
    database.close();
  });
});
