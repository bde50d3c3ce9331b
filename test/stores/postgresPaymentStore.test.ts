import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/core/errors';
import type { PostgresSource } from '../../src/stores/postgres';
import { createPostgresPaymentStore } from '../../src/stores/postgresPaymentStore';
import { StoreCorruptError, StoreUnavailableError } from '../../src/stores/storeErrors';
import { postgresForTests, type PostgresFixture } from '../support/postgresForTests';
import { startPostgresServer } from '../support/postgresServer';
import { describePaymentStoreContract, sampleReceipt, type Corruption } from './paymentStoreContract';

const pgs = await postgresForTests('Postgres payment store');

const damage: Record<Corruption, (table: string) => string> = {
  'receipt-not-json': (t) => `UPDATE ${t} SET receipt = '{"v":1,' WHERE payment_id = $1`,
  'receipt-off-schema': (t) => `UPDATE ${t} SET receipt = '{"v":2,"amount":1.5}' WHERE payment_id = $1`,
  'unknown-state': (t) => `UPDATE ${t} SET state = 'refunded' WHERE payment_id = $1`,
};

async function run(source: PostgresSource, sql: string, values: unknown[]): Promise<void> {
  if (source.pool) await source.pool.query(sql, values);
  else await source.pglite.query(sql, values);
}

function fixtureStores(make: () => Promise<PostgresFixture>) {
  return async () => {
    const { source, peer, tablePrefix } = await make();
    return {
      store: createPostgresPaymentStore({ ...source, tablePrefix }),
      peer: createPostgresPaymentStore({ ...peer, tablePrefix }),
      corrupt: (paymentId: string, how: Corruption) => run(source, damage[how](`${tablePrefix}payments`), [paymentId]),
      close: () => {},
    };
  };
}

if (pgs.server) describePaymentStoreContract('postgres (server, two pools)', fixtureStores(pgs.server.fresh));
describePaymentStoreContract('postgres (embedded PGlite, one connection)', fixtureStores(pgs.pglite.fresh));

describe('Postgres payment store', () => {
  it.runIf(pgs.server)(
    'eight pools racing on 50 payments (two claims each per pool): exactly one winner each',
    async () => {
      const server = pgs.server;
      if (!server) return;
      const { tablePrefix } = await server.fresh();
      const stores = Array.from({ length: 8 }, () => createPostgresPaymentStore({ pool: server.pool(), tablePrefix }));
      const ids = Array.from({ length: 50 }, (_, i) => `p${i}`);
      const results = await Promise.all(
        ids.flatMap((id) => stores.flatMap((s) => [s.claim(id, 'r', 10_000), s.claim(id, 'r', 10_000)])),
      );
      expect(results.filter((r) => r.claimed)).toHaveLength(ids.length);
    },
  );

  it('a table prefix keeps two stores apart in one database; a prefix that is not a plain name is refused', async () => {
    const { source } = await pgs.pglite.fresh();
    const a = createPostgresPaymentStore({ ...source, tablePrefix: 'a_' });
    const b = createPostgresPaymentStore({ ...source, tablePrefix: 'b_' });
    await a.migrate();
    await b.migrate();
    await b.migrate(); // idempotent
    await a.claim('same', 'req-a', 10_000);
    expect(await b.claim('same', 'req-b', 10_000)).toMatchObject({ claimed: true });
    expect(() => createPostgresPaymentStore({ ...source, tablePrefix: 'x; DROP TABLE y; --' })).toThrow(
      ConfigurationError,
    );
  });

  it('before migrate(), a call is a StoreUnavailableError naming the missing table, not a crash', async () => {
    const { source } = await pgs.pglite.fresh();
    const store = createPostgresPaymentStore({ ...source, tablePrefix: 'unmigrated_' });
    const error = await store.claim('p', 'r', 1_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(String(error instanceof Error && error.message)).toContain('unmigrated_payments');
  });

  it('a pending row without a reference fails listPending with a typed error', async () => {
    const { source, tablePrefix } = await pgs.pglite.fresh();
    const store = createPostgresPaymentStore({ ...source, tablePrefix });
    await store.claim('p', 'r', 1_000);
    await store.markPending('p', 'evm-eip3009', '0x1');
    await run(source, `UPDATE ${tablePrefix}payments SET reference = NULL WHERE payment_id = 'p'`, []);
    await expect(store.listPending()).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it.runIf(pgs.server)(
    'the server stopped is a StoreUnavailableError (503); records written before are there after a restart of the pool',
    async () => {
      const own = await startPostgresServer();
      const pool = new pg.Pool({ connectionString: own.url, connectionTimeoutMillis: 2_000 });
      pool.on('error', () => {});
      const store = createPostgresPaymentStore({ pool });
      await store.migrate();
      await store.claim('p', 'r', 10_000);
      await store.settle('p', sampleReceipt());
      const again = createPostgresPaymentStore({ pool });
      expect(await again.get('p')).toMatchObject({ state: 'settled', requestKey: 'r', receipt: sampleReceipt() });
      await own.stop();
      for (const attempt of [
        () => store.claim('q', 'r', 1_000),
        () => store.get('p'),
        () => store.settle('p', sampleReceipt()),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(error instanceof StoreUnavailableError && error.status).toBe(503);
      }
      await pool.end().catch(() => undefined);
    },
  );
});
