/**
 * The facilitator's discovery catalog, in memory and in SQLite (two connections to one file: a second facilitator
 * process, and a reopened file: a restart). Recorded through one handle, listed through the other: accepts merged per
 * scheme/network/asset/payee, `bazaar` metadata kept, challenge tokens dropped, newest first, type filter and pages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createPostgresResourceCatalog,
  createResourceCatalog,
  createSqliteResourceCatalog,
  type ResourceCatalog,
} from '../../../src/facilitator/index';
import type { FacilitatorRequest } from '../../../src/facilitator/wire';
import { postgresForTests, type PostgresFixture } from '../../support/postgresForTests';

const dir = mkdtempSync(join(tmpdir(), 'x402-catalog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settled = (url: string, network: `${string}:${string}`, bazaar?: unknown): FacilitatorRequest => ({
  x402Version: 2,
  paymentPayload: {
    x402Version: 2,
    resource: { url, description: `About ${url}` },
    accepted: {
      scheme: 'exact',
      network,
      amount: '1000',
      asset: '0xasset',
      payTo: '0xpayee',
      maxTimeoutSeconds: 60,
      extra: {},
    },
    payload: {},
    ...(bazaar !== undefined ? { extensions: { bazaar } } : {}),
  },
  paymentRequirements: {
    scheme: 'exact',
    network,
    amount: '1000',
    asset: '0xasset',
    payTo: '0xpayee',
    maxTimeoutSeconds: 60,
    extra: { name: 'USD Coin', challenge: 'secret-challenge-token' },
  },
});

type Pair = { store: ResourceCatalog; peer: ResourceCatalog; close(): void };

function describeCatalog(name: string, make: () => Pair | Promise<Pair>): void {
  describe(`discovery catalog: ${name}`, { timeout: 90_000 }, () => {
    it('records through one handle and lists through the other: merged accepts, bazaar kept, no challenge token, newest first, type and pages', async () => {
      const { store, peer, close } = await make();
      try {
        const t0 = Date.parse('2026-12-03T10:00:00Z');
        await store.record(settled('https://api.test/a', 'eip155:1', { info: { input: { type: 'http' } } }), t0);
        await peer.record(settled('https://api.test/a', 'eip155:8453'), t0 + 1);
        await store.record(settled('https://api.test/a', 'eip155:1'), t0 + 2);
        await store.record(settled('mcp://tool/forecast', 'eip155:1'), t0 + 3);
        const all = await peer.list({});
        expect(all.pagination).toEqual({ limit: 100, offset: 0, total: 2 });
        expect(all.items.map((i) => [i.resource, i.type])).toEqual([
          ['mcp://tool/forecast', 'mcp'],
          ['https://api.test/a', 'http'],
        ]);
        const a = all.items[1];
        expect(a?.accepts.map((x) => x.network)).toEqual(['eip155:8453', 'eip155:1']);
        expect(a?.accepts[1]?.extra).toEqual({ name: 'USD Coin' });
        expect(a?.extensions).toEqual({ bazaar: { info: { input: { type: 'http' } } } });
        expect(a?.description).toBe('About https://api.test/a');
        expect(a?.lastUpdated).toBe(new Date(t0 + 2).toISOString());
        expect((await store.list({ type: 'mcp' })).items.map((i) => i.resource)).toEqual(['mcp://tool/forecast']);
        const page = await store.list({ limit: 1, offset: 1 });
        expect(page.items.map((i) => i.resource)).toEqual(['https://api.test/a']);
        expect(page.pagination).toEqual({ limit: 1, offset: 1, total: 2 });
        // A payment without a resource URL records nothing.
        const bare = settled('https://api.test/b', 'eip155:1');
        delete bare.paymentPayload.resource;
        await store.record(bare, t0 + 4);
        expect((await peer.list({})).pagination.total).toBe(2);
      } finally {
        close();
      }
    });
  });
}

describeCatalog('memory (one process)', () => {
  const store = createResourceCatalog();
  return { store, peer: store, close: () => {} };
});
let files = 0;
describeCatalog('sqlite (two connections to one file)', () => {
  const path = join(dir, `catalog${files++}.sqlite`);
  const store = createSqliteResourceCatalog({ path });
  const peer = createSqliteResourceCatalog({ path });
  return {
    store,
    peer,
    close: () => {
      store.close();
      peer.close();
    },
  };
});

describe('SQLite discovery catalog', () => {
  it('survives a restart (file reopened) and keeps at most maxEntries, the least recently paid dropped', async () => {
    const path = join(dir, 'restart.sqlite');
    const first = createSqliteResourceCatalog({ path, maxEntries: 2 });
    for (const [i, url] of ['https://x.test/1', 'https://x.test/2', 'https://x.test/3'].entries())
      await first.record(settled(url, 'eip155:1'), 1_000 + i);
    first.close();
    const second = createSqliteResourceCatalog({ path, maxEntries: 2 });
    expect((await second.list({})).items.map((i) => i.resource)).toEqual(['https://x.test/3', 'https://x.test/2']);
    second.database.prepare(`UPDATE x402_discovery_resources SET entry = 'garbage'`).run();
    await expect(second.list({})).rejects.toThrow(/corrupt/);
    second.close();
  });
});

const pgs = await postgresForTests('Postgres discovery catalog');
const postgresPair = (make: () => Promise<PostgresFixture>) => async (): Promise<Pair> => {
  const { source, peer, tablePrefix } = await make();
  const store = createPostgresResourceCatalog({ ...source, tablePrefix });
  await store.migrate();
  return { store, peer: createPostgresResourceCatalog({ ...peer, tablePrefix }), close: () => {} };
};
if (pgs.server) describeCatalog('postgres (server, two pools)', postgresPair(pgs.server.fresh));
describeCatalog('postgres (embedded PGlite, one connection)', postgresPair(pgs.pglite.fresh));
