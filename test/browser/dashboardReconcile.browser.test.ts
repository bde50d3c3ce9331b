/**
 * The dashboard's Reconcile button on a settlement that is genuinely pending: a real paid server process (the
 * crash tests' server, EIP-3009 on anvil, SQLite store file) broadcasts the settlement, writes its intent, and is
 * killed with SIGKILL before it records the receipt. The money moved on chain; the store says `pending`. The
 * operator opens the dashboard (a paywall over the same store file and receipt key) in Chromium, sees the pending
 * row with the broadcast transaction, clicks Reconcile: the row becomes a settled receipt, verified against the
 * JWKS, naming that very transaction; the payer paid once, and a second Reconcile moves nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { createReceiptSigner, paywall, payingFetch } from '../../src/index';
import { generateReceiptKey } from '../../src/core/receipt/signer';
import { verifyReceipt } from '../../src/core/receipt/index';
import { dashboardHandler } from '../../src/dashboard/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { createSqlitePaymentStore, type SqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import type { CrashServerConfig, CrashServerMessage } from '../crash/support/crashServer';
import { seriousA11yViolations } from '../support/axe';
import { launchBrowser, screenshot, type TestBrowser } from '../support/browser';
import { evmProcessConfig, evmProcessRail } from '../support/evmProcessRail';

const CRASH_SERVER = fileURLToPath(new URL('../crash/support/crashServer.ts', import.meta.url));
const PRICE = 10_000n;
const KEY = 'dashboard-reconcile-key-0123456789';
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });

let evm: EvmDevnet;
let dir: string;
let child: ChildProcess | undefined;
let browser: TestBrowser;
let dashboard: StartedServer;
let store: SqlitePaymentStore;
let config: CrashServerConfig;
let broadcast: string;
let before: { payer: bigint; payee: bigint };

const balances = async () => ({
  payer: await evm.balanceOf(evm.accounts.payer.address),
  payee: await evm.balanceOf(evm.accounts.payee.address),
});

/** Starts the crash server, pays it once, and kills it right after the settlement was broadcast and its intent written. */
async function leavePendingSettlement(): Promise<string> {
  const started = fork(CRASH_SERVER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, X402_CRASH_SERVER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child = started;
  const reference = new Promise<string>((resolve, reject) => {
    started.once('exit', (code) => reject(new Error(`the server exited (${code}) before the broadcast`)));
    started.on('message', (message: CrashServerMessage) => {
      if (message.type === 'ready') {
        const wallet = evmWallet(privateKeyToAccount(evm.accounts.payer.privateKey as Hex), {
          publicClient: evm.publicClient,
        });
        // The reply never comes: the server dies. The request's failure is expected.
        void payingFetch(fetch, { adapters: [evmEip3009Client()], wallets: [wallet] })(`${message.url}/paid`).catch(
          () => undefined,
        );
      }
      if (message.type === 'broadcast') resolve(message.reference);
    });
  });
  const hash = await reference;
  await new Promise<void>((resolve) => {
    started.removeAllListeners('exit');
    started.once('exit', () => resolve());
    started.kill('SIGKILL');
  });
  child = undefined;
  return hash;
}

beforeAll(async () => {
  evm = await startEvmDevnet();
  dir = mkdtempSync(join(tmpdir(), 'x402-dashboard-reconcile-'));
  config = {
    sqlitePath: join(dir, 'payments.sqlite'),
    evm: evmProcessConfig(evm),
    challengeSecret: randomBytes(32).toString('hex'),
    receiptJwk: await generateReceiptKey(),
    price: PRICE.toString(),
    port: 0,
    settleLeaseMs: 60_000,
    hangAt: 'after-intent',
  };
  before = await balances();
  broadcast = await leavePendingSettlement();
  // The operator's side: the paywall over the same store file and receipt key, and its dashboard.
  store = createSqlitePaymentStore({ path: config.sqlitePath });
  const pw = paywall(
    { 'GET /paid': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
    {
      rails: [evmProcessRail(config.evm)],
      store,
      signer: await createReceiptSigner({ privateJwk: config.receiptJwk }),
      challengeSecret: Buffer.from(config.challengeSecret, 'hex'),
      settleLeaseMs: config.settleLeaseMs,
    },
  );
  dashboard = await serveFetch(
    dashboardHandler({ store, jwks: pw.jwks(), bearerKeys: [KEY], reconcile: pw.reconcile }),
  );
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await browser?.close();
  await dashboard?.close();
  store?.close();
  await evm?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openDashboard(): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${dashboard.url}/dashboard/`);
  await page.getByLabel('Dashboard key').fill(KEY);
  await page.keyboard.press('Enter');
  await poll(() => page.locator('#count').textContent()).toMatch(/receipts$/);
  return page;
}

const pendingRows = (page: Page) => page.locator('table:has(th:text("Since")) tbody tr');

describe('dashboard Reconcile on a settlement left pending by a killed server', { timeout: 120_000 }, () => {
  it('the pending row becomes a settled receipt, verified, naming the broadcast transaction; paid once; a second pass (keyboard) moves nothing and keeps the focus', async () => {
    // The money moved before the process died, and the store knows only that it is pending.
    const moved = await balances();
    expect(before.payer - moved.payer).toBe(PRICE);
    const [pending] = await store.listPending();
    expect(pending?.record).toMatchObject({ state: 'pending', reference: broadcast });
    expect(await store.listSettled({})).toEqual([]);

    const page = await openDashboard();
    expect(await page.locator('#count').textContent()).toBe('0 receipts');
    expect(await pendingRows(page).count()).toBe(1);
    expect(await pendingRows(page).textContent()).toContain(broadcast);
    await screenshot(page, 'dashboard-pending');
    expect(await seriousA11yViolations(page), 'axe-core, the dashboard with a pending settlement').toEqual([]);

    await page.getByRole('button', { name: 'Reconcile pending settlements' }).click();
    await poll(() => page.locator('#status').textContent()).toBe('Reconciled: 1 settled, 0 failed, 0 still pending.');
    await poll(() => page.locator('#count').textContent()).toBe('1 receipts');
    expect(await page.locator('#verified-count').textContent()).toBe('1 verified');
    const row = await page.locator('table:has(th:text("Signature")) tbody tr').textContent();
    expect(row).toContain(broadcast);
    expect(row).toContain('evm-eip3009');
    expect(row).toContain('✓ verified');
    expect(await page.locator('table:has(th:text("Since"))').count()).toBe(0); // "None." instead of the table

    // The stored receipt verifies offline and names the transaction broadcast before the crash.
    const [settled] = await store.listSettled({});
    const receipt = settled?.record.receipt;
    if (!receipt) throw new Error('no receipt on record');
    await verifyReceipt(receipt, (await createReceiptSigner({ privateJwk: config.receiptJwk })).jwks());
    expect(receipt).toMatchObject({ reference: broadcast, amount: PRICE.toString(), status: 'settled' });

    // Again, from the keyboard: nothing left to do, nothing moves, and the focus stays on the button after the
    // dashboard re-renders.
    await page.locator('#reconcile').focus();
    await page.keyboard.press('Enter');
    await poll(() => page.locator('#status').textContent()).toBe('Reconciled: 0 settled, 0 failed, 0 still pending.');
    await poll(() => page.evaluate(() => document.activeElement?.id)).toBe('reconcile');
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    expect(await store.listSettled({})).toHaveLength(1);
    await page.close();
  });
});
