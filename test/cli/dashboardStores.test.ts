/**
 * `x402-rails dashboard --store <url> --audit <url>` over real servers (the Debian binaries, started on ephemeral
 * ports like the store tests do): PostgreSQL (`postgres://`) and Redis (`redis://`). Each time the CLI opens the
 * payment store and audit log a paywall wrote, lists the settled receipt verified against the JWKS file, flags one
 * signed by another key, lists the pending settlement, checks the audit chain, and exports. An unknown URL scheme
 * is a usage error (exit 2), before anything connects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createReceiptSigner } from '../../src/core/receipt/index';
import type { DashboardSummary } from '../../src/dashboard/index';
import { createPostgresAuditLog } from '../../src/risk/postgresAuditLog';
import type { AuditLog } from '../../src/risk/auditLog';
import { createRedisAuditLog } from '../../src/risk/redisAuditLog';
import type { PaymentStore } from '../../src/stores/paymentStore';
import { createPostgresPaymentStore } from '../../src/stores/postgresPaymentStore';
import { createRedisPaymentStore } from '../../src/stores/redisPaymentStore';
import { sampleReceipt } from '../stores/paymentStoreContract';
import { postgresForTests } from '../support/postgresForTests';
import { redisForTests } from '../support/redisForTests';
import { runCli, startCli } from './runCli';

const KEY = 'cli-dashboard-stores-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'x402-cli-dashboard-stores-'));
const pgs = await postgresForTests('x402-rails dashboard over Postgres');
const redis = await redisForTests('x402-rails dashboard over Redis');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Writes what a paywall would (two settled receipts, one signed by a stranger; a pending settlement; two audit
 * entries), then checks what the CLI's dashboard over `url` shows.
 */
async function seedAndCheck(store: PaymentStore, audit: AuditLog, url: string, prefix: string): Promise<void> {
  const signer = await createReceiptSigner();
  const stranger = await createReceiptSigner();
  const { signature: _s, ...unsigned } = sampleReceipt({ id: 'rcpt_pg_good' });
  const { signature: _t, ...other } = sampleReceipt({ id: 'rcpt_pg_foreign' });
  for (const [id, receipt] of [
    ['pg1', await signer.sign(unsigned)],
    ['pg2', await stranger.sign(other)],
  ] as const) {
    await store.claim(id, 'req', 10_000);
    await store.settle(id, receipt);
  }
  // A settlement broadcast whose outcome is not on record yet.
  await store.claim('pg3', 'req', 10_000);
  await store.markPending('pg3', 'evm-eip3009', '0xabc');
  await audit.append({ kind: 'challenge', at: Date.now(), route: 'GET /report' });
  await audit.append({ kind: 'settlement', at: Date.now(), route: 'GET /report', paymentId: 'pg1' });
  const jwksPath = join(dir, 'jwks.json');
  writeFileSync(jwksPath, JSON.stringify(signer.jwks()));
  const running = await startCli<{ url: string }>(
    ['dashboard', '--store', url, '--audit', url, '--prefix', prefix, '--jwks', jwksPath, '--port', '0'].concat(
      '--json',
    ),
    { env: { X402_DASHBOARD_KEY: KEY } },
  );
  try {
    const api = `${running.ready.url}api/summary`;
    expect((await fetch(api)).status).toBe(401);
    const summary = (await (
      await fetch(api, { headers: { Authorization: `Bearer ${KEY}` } })
    ).json()) as DashboardSummary;
    expect(summary.receipts.map((r) => [r.id, r.verified]).sort()).toEqual([
      ['rcpt_pg_foreign', false],
      ['rcpt_pg_good', true],
    ]);
    expect(summary.pending).toMatchObject([{ paymentId: 'pg3', rail: 'evm-eip3009', reference: '0xabc' }]);
    expect(summary.audit).toEqual({ configured: true, ok: true, entries: 2 });
    const csv = await (
      await fetch(`${running.ready.url}api/export.csv`, { headers: { Authorization: `Bearer ${KEY}` } })
    ).text();
    expect(csv.trim().split('\r\n')).toHaveLength(3);
  } finally {
    await running.stop();
  }
}

describe('x402-rails dashboard --store', () => {
  it('refuses a store URL of an unknown kind (exit 2) and names the kinds it opens', async () => {
    const run = await runCli(['dashboard', '--store', 'mysql://127.0.0.1/shop', '--jwks', 'x.json'], {
      env: { X402_DASHBOARD_KEY: KEY },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/postgres:\/\/ or redis:\/\/ URL, or a SQLite file/);
  });

  it.runIf(pgs.server)(
    'serves the receipts, pending settlements and audit chain of the Postgres stores, each receipt re-verified',
    async () => {
      if (!pgs.server) return;
      const { source, tablePrefix } = await pgs.server.fresh();
      await seedAndCheck(
        createPostgresPaymentStore({ ...source, tablePrefix }),
        createPostgresAuditLog({ ...source, tablePrefix }),
        pgs.server.server.url,
        tablePrefix,
      );
    },
  );

  it.runIf(redis)('serves the receipts, pending settlements and audit chain of the Redis stores', async () => {
    if (!redis) return;
    const client = redis.connect();
    const prefix = 'dash:';
    await seedAndCheck(
      createRedisPaymentStore({ redis: client, keyPrefix: prefix }),
      createRedisAuditLog({ redis: client, keyPrefix: prefix }),
      redis.server.url,
      prefix,
    );
  });
});
