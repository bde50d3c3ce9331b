/**
 * `x402-rails dashboard` over a SQLite payment store written by a paywall: it listens, refuses requests without
 * the key, lists the stored receipt verified against the JWKS file, and flags one signed by another key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createReceiptSigner } from '../../src/core/receipt/index';
import type { DashboardSummary } from '../../src/dashboard/index';
import { createSqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import { sampleReceipt } from '../stores/paymentStoreContract';
import { runCli, startCli } from './runCli';

const KEY = 'cli-dashboard-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'x402-cli-dashboard-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('x402-rails dashboard', () => {
  it('needs a store, a JWKS and a key', async () => {
    expect((await runCli(['dashboard', '--jwks', 'x.json'])).code).toBe(2);
    const noKey = await runCli(['dashboard', '--sqlite', join(dir, 'none.db'), '--jwks', 'x.json'], {
      env: { X402_DASHBOARD_KEY: '' },
    });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/X402_DASHBOARD_KEY/);
  });

  it('serves the receipts of a SQLite store behind the key, each re-verified', async () => {
    const signer = await createReceiptSigner();
    const stranger = await createReceiptSigner();
    const path = join(dir, 'payments.db');
    const store = createSqlitePaymentStore({ path });
    const { signature: _s, ...unsigned } = sampleReceipt({ id: 'rcpt_good' });
    const { signature: _t, ...other } = sampleReceipt({ id: 'rcpt_foreign' });
    for (const [id, receipt] of [
      ['p1', await signer.sign(unsigned)],
      ['p2', await stranger.sign(other)],
    ] as const) {
      await store.claim(id, 'req', 10_000);
      await store.settle(id, receipt);
    }
    store.close();
    const jwksPath = join(dir, 'jwks.json');
    writeFileSync(jwksPath, JSON.stringify(signer.jwks()));
    const running = await startCli<{ url: string }>(
      ['dashboard', '--sqlite', path, '--jwks', jwksPath, '--port', '0', '--json'],
      { env: { X402_DASHBOARD_KEY: KEY } },
    );
    try {
      const api = `${running.ready.url}api/summary`;
      expect((await fetch(api)).status).toBe(401);
      const page = await fetch(running.ready.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Dashboard key');
      const summary = (await (
        await fetch(api, { headers: { Authorization: `Bearer ${KEY}` } })
      ).json()) as DashboardSummary;
      expect(summary.receipts.map((r) => [r.id, r.verified])).toEqual(
        expect.arrayContaining([
          ['rcpt_good', true],
          ['rcpt_foreign', false],
        ]),
      );
      expect(summary.receipts.find((r) => r.id === 'rcpt_foreign')?.problem).toMatch(/no key of the JWKS matches it/);
    } finally {
      await running.stop();
    }
  });
});
