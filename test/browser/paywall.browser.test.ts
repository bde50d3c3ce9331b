/**
 * The paywall page and the receipts dashboard in real Chromium, paid end to end on the devnets: an EIP-1193 wallet over anvil (starting
 * on the wrong chain), a Wallet Standard wallet over the Solana devnet, and a Lightning invoice paid from the
 * devnet's alice node while the page polls. Each payment moves exactly the price, and the page shows the
 * resource and the receipt verified against the server's JWKS with Web Crypto. Failures (rejected signature,
 * refused chain switch, insufficient balance, expired offer) are shown in words and charge nothing. Then the
 * operator's dashboard (same SQLite store) lists those payments, filters them, re-verifies each receipt against
 * the JWKS, flags a receipt altered in the database, checks the audit chain, and exports them.
 * Accessibility: axe-core runs in Chromium on every state (offers, an error, the Lightning invoice, the receipt,
 * the dashboard, a flagged receipt) with no serious or critical violation allowed; Solana and Lightning are paid
 * with the keyboard only (Tab, Enter).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pay } from 'ln-service';
import type { Page } from '@playwright/test';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devnetServerRails, type AllDevnets } from '../../fixtures/demo/devnetRails';
import { startDevnets } from '../../fixtures/startDevnets';
import { createReceiptSigner, paywall, type PriceOffer } from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { withPaywallPage } from '../../src/paywall-ui/index';
import { dashboardHandler } from '../../src/dashboard/index';
import { createMemoryAuditLog } from '../../src/risk/memoryAuditLog';
import { riskControls } from '../../src/risk/riskControls';
import { createSqlitePaymentStore, type SqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import { verifyReceipt, type SignedReceipt } from '../../src/core/receipt/index';
import {
  injectTestWallets,
  launchBrowser,
  screenshot,
  type EvmWalletControl,
  type SolanaWalletControl,
  type TestBrowser,
} from '../support/browser';
import { seriousA11yViolations } from '../support/axe';

const PRICE = 10_000n;
const PRICE_MSAT = 21_000n;
const DASHBOARD_KEY = 'dashboard-key-for-tests-0123456789';
/** Waits for the page to say something; generous, as a loaded 2-core CI machine runs Chromium beside the suite. */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });
/** Per-test time in Chromium on a loaded machine. */
const BROWSER_TEST = { timeout: 120_000 };

let devnets: AllDevnets;
let server: StartedServer;
let expiredServer: StartedServer;
let browser: TestBrowser;
let evmWallet: EvmWalletControl;
let solanaWallet: SolanaWalletControl;
let store: SqlitePaymentStore;
let storeDir: string;
let jwks: ReturnType<Awaited<ReturnType<typeof createReceiptSigner>>['jwks']>;

beforeAll(async () => {
  devnets = await startDevnets({ evm: true, solana: true, lightning: true });
  const rails = devnetServerRails(devnets);
  const accepts: PriceOffer[] = [
    { rail: 'evm-eip3009', amount: PRICE },
    { rail: 'evm-eip2612', amount: PRICE },
    { rail: 'solana-spl', amount: PRICE },
    { rail: 'lightning-l402', amount: PRICE_MSAT },
  ];
  const signer = await createReceiptSigner();
  const pageOptions = {
    theme: { title: 'Weather Pro', description: 'Today’s forecast, paid per view.' },
    assets: {
      [devnets.evm.token.address]: { symbol: 'rUSD', decimals: 6 },
      [devnets.solana.mint.toBase58()]: { symbol: 'dUSD', decimals: 6 },
    },
    solanaRpcUrls: { [devnets.solana.network]: devnets.solana.rpcUrl },
    invoiceStatus: rails.lightning,
  };
  const handler = () => Response.json({ forecast: 'sunny on every rail' });
  storeDir = mkdtempSync(join(tmpdir(), 'x402-browser-store-'));
  store = createSqlitePaymentStore({ path: join(storeDir, 'payments.db') });
  const auditLog = createMemoryAuditLog();
  const pw = paywall(
    { 'GET /report': { accepts, description: 'The forecast' } },
    {
      rails: [rails.evm3009, rails.evm2612, rails.solana, rails.lightning],
      signer,
      issuer: 'http://127.0.0.1',
      store,
      extensions: [riskControls({ audit: auditLog })],
    },
  );
  jwks = pw.jwks();
  const dashboard = dashboardHandler({
    store,
    jwks: pw.jwks(),
    bearerKeys: [DASHBOARD_KEY],
    auditLog,
    reconcile: pw.reconcile,
    issuer: 'http://127.0.0.1',
  });
  const paid = withPaywallPage(pw, pageOptions).wrap(handler);
  server = await serveFetch((request) =>
    new URL(request.url).pathname.startsWith('/dashboard') ? dashboard(request) : paid(request),
  );
  // A page made ten minutes ago: its offers have expired by the time the person clicks.
  const stale = paywall(
    { 'GET /report': { accepts: accepts.slice(0, 1) } },
    { rails: [rails.evm3009], signer, issuer: 'http://127.0.0.1' },
  );
  expiredServer = await serveFetch(
    withPaywallPage(stale, { ...pageOptions, now: () => Date.now() - 600_000 }).wrap(handler),
  );
  browser = await launchBrowser();
  evmWallet = {
    account: privateKeyToAccount(devnets.evm.accounts.payer.privateKey),
    chainId: 1,
    rejectSignature: false,
    rejectSwitch: false,
    signatures: 0,
  };
  solanaWallet = { keypair: devnets.solana.keypairs.payer, rejectSignature: false, signatures: 0 };
  await injectTestWallets(
    browser.context,
    { control: evmWallet, publicClient: devnets.evm.publicClient },
    { control: solanaWallet },
  );
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await expiredServer?.close();
  await devnets?.stop();
  store?.close();
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

async function openPaywall(url = `${server.url}/report`): Promise<Page> {
  const page = await browser.context.newPage();
  const response = await page.goto(url);
  expect(response?.status()).toBe(402);
  return page;
}

/** No serious or critical axe-core violation in the page as it is now (`state` names it in the failure). */
async function expectAccessible(page: Page, state: string): Promise<void> {
  expect(await seriousA11yViolations(page), `axe-core, ${state}`).toEqual([]);
}

/** Presses Tab (from wherever the focus is) until the focused element reads `label`; fails after 20 presses. */
async function tabTo(page: Page, label: string): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    const focused = (await page.evaluate(() => document.activeElement?.textContent ?? '')).trim();
    if (focused === label) return;
    seen.push(focused);
  }
  throw new Error(`Tab never reached "${label}"; focus went through: ${seen.join(' | ')}`);
}

async function payWith(page: Page, label: RegExp): Promise<void> {
  await page.getByRole('button', { name: label }).click();
}

async function expectPaid(page: Page, rail: string): Promise<void> {
  await poll(() => page.locator('#receipt-check').textContent()).toMatch(
    /^Receipt verified: signed by the server's key/,
  );
  expect(await page.locator('#receipt').textContent()).toContain(rail);
  expect(await page.locator('#content').textContent()).toContain('sunny on every rail');
  expect(await page.locator('#status').textContent()).toMatch(/^Paid /);
}

describe('paywall page in Chromium, on the devnets', BROWSER_TEST, () => {
  it('lists every offer in the server’s order with human amounts, themed, keyboard-reachable; axe-core finds no serious violation (and does find planted ones)', async () => {
    const page = await openPaywall();
    expect(await page.title()).toBe('Weather Pro');
    const offers = await page.locator('li.offer').allTextContents();
    expect(offers).toHaveLength(4);
    expect(offers[0]).toContain('0.01 rUSD');
    expect(offers[0]).toContain('rUSD on local chain 31337');
    expect(offers[1]).toContain('(permit)');
    expect(offers[2]).toContain('0.01 dUSD');
    expect(offers[3]).toContain('21 sat');
    // Every pay button is a labelled button reached by Tab.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(
      'Pay 0.01 rUSD with an Ethereum wallet',
    );
    await screenshot(page, 'paywall');
    await expectAccessible(page, 'the offers');
    // The check can fail: a nameless button and grey-on-white text planted in the page are reported.
    await page.evaluate(() => {
      const faint = Object.assign(document.createElement('p'), { textContent: 'faint' });
      // Through the CSSOM: the page's CSP refuses inline style attributes.
      faint.style.color = '#cccccc';
      faint.style.background = '#ffffff';
      document
        .querySelector('main')
        ?.append(Object.assign(document.createElement('button'), { type: 'button' }), faint);
    });
    expect((await seriousA11yViolations(page)).map((v) => v.id).sort()).toEqual(['button-name', 'color-contrast']);
    await page.close();
  });

  it('EVM: wallet on the wrong chain → switch; rejected signature and refused switch shown in words; then paid once (payer −price, payee +price), receipt verified', async () => {
    const { evm } = devnets;
    const before = [await evm.balanceOf(evm.accounts.payer.address), await evm.balanceOf(evm.accounts.payee.address)];
    const page = await openPaywall();
    evmWallet.rejectSwitch = true;
    await payWith(page, /rUSD with an Ethereum wallet/);
    await poll(() => page.locator('#status').textContent()).toMatch(
      /You rejected the switch to local chain 31337 in your wallet\. Nothing was charged\./,
    );
    await expectAccessible(page, 'an error shown');
    evmWallet.rejectSwitch = false;
    evmWallet.rejectSignature = true;
    await payWith(page, /rUSD with an Ethereum wallet/);
    await poll(() => page.locator('#status').textContent()).toMatch(
      /You rejected the signature in your wallet\. Nothing was charged\./,
    );
    expect(evmWallet.chainId).toBe(devnets.evm.chainId); // the page asked for the switch
    evmWallet.rejectSignature = false;
    await payWith(page, /rUSD with an Ethereum wallet/);
    await expectPaid(page, 'evm-eip3009');
    const after = [await evm.balanceOf(evm.accounts.payer.address), await evm.balanceOf(evm.accounts.payee.address)];
    expect(before[0]! - after[0]!).toBe(PRICE);
    expect(after[1]! - before[1]!).toBe(PRICE);
    await screenshot(page, 'paywall-paid-evm');
    await expectAccessible(page, 'the receipt');
    await page.close();
  });

  it('EVM: an account without tokens is told its balance is insufficient; nothing is signed', async () => {
    const payer = evmWallet.account;
    evmWallet.account = privateKeyToAccount(devnets.evm.accounts.poor.privateKey);
    const signatures = evmWallet.signatures;
    try {
      const page = await openPaywall();
      await payWith(page, /rUSD with an Ethereum wallet/);
      await poll(() => page.locator('#status').textContent()).toMatch(
        /^Insufficient balance: your account 0x\w{4}…\w{4} holds 0 rUSD, the price is 0\.01 rUSD\. Nothing was charged\.$/,
      );
      expect(evmWallet.signatures).toBe(signatures);
      await page.close();
    } finally {
      evmWallet.account = payer;
    }
  });

  it('Solana, keyboard only (Tab, Enter): a Wallet Standard wallet signs the partially signed transfer; paid once (payer −price, payee +price), receipt verified', async () => {
    const { solana } = devnets;
    const before = [
      solana.tokenBalance(solana.keypairs.payer.publicKey),
      solana.tokenBalance(solana.keypairs.payee.publicKey),
    ];
    const page = await openPaywall();
    solanaWallet.rejectSignature = true;
    await payWith(page, /dUSD with a Solana wallet/);
    await poll(() => page.locator('#status').textContent()).toMatch(
      /You rejected the signature in your wallet\. Nothing was charged\./,
    );
    solanaWallet.rejectSignature = false;
    // Keyboard only: Tab to the offer's button, Enter; the page then moves the focus to the result.
    await tabTo(page, 'Pay 0.01 dUSD with a Solana wallet');
    await page.keyboard.press('Enter');
    await expectPaid(page, 'solana-spl');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('result-title');
    const after = [
      solana.tokenBalance(solana.keypairs.payer.publicKey),
      solana.tokenBalance(solana.keypairs.payee.publicKey),
    ];
    expect(before[0]! - after[0]!).toBe(PRICE);
    expect(after[1]! - before[1]!).toBe(PRICE);
    await page.close();
  });

  it('Solana: a wallet without tokens is told its balance is insufficient', async () => {
    const payer = solanaWallet.keypair;
    solanaWallet.keypair = devnets.solana.keypairs.poor;
    try {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/report`);
      await payWith(page, /dUSD with a Solana wallet/);
      await poll(() => page.locator('#status').textContent()).toMatch(
        /^Insufficient balance: .+ holds 0 dUSD, the price is 0\.01 dUSD\./,
      );
      await page.close();
    } finally {
      solanaWallet.keypair = payer;
    }
  });

  it('Lightning, keyboard only: invoice shown as text and QR; paid from the payer node while the page polls; L402 retry served; bob +price; receipt verified', async () => {
    const { lightning } = devnets;
    const balance = async (name: 'alice' | 'bob') => lightning.channelBalance(name);
    const before = [await balance('alice'), await balance('bob')];
    const page = await openPaywall();
    // Keyboard only: Tab to the offer, Enter; the focus lands on the invoice, Tab reaches Copy.
    await tabTo(page, 'Pay 21 sat with Lightning');
    await page.keyboard.press('Enter');
    const invoice = page.locator('#ln-invoice');
    await poll(() => invoice.inputValue()).toMatch(/^lnbcrt/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ln-invoice');
    expect(await page.locator('#ln-qr svg').count()).toBe(1);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ln-copy');
    await page.keyboard.press('Enter');
    await poll(() => page.locator('#status').textContent()).toMatch(/^(Invoice copied|Select the invoice text)/);
    await screenshot(page, 'paywall-lightning');
    await expectAccessible(page, 'the Lightning invoice');
    await pay({ lnd: lightning.nodes.alice.lnd, request: await invoice.inputValue(), max_fee: 10 });
    await expectPaid(page, 'lightning-l402');
    const after = [await balance('alice'), await balance('bob')];
    expect(before[0]! - after[0]!).toBeGreaterThanOrEqual(PRICE_MSAT);
    expect(after[1]! - before[1]!).toBe(PRICE_MSAT);
    await page.close();
  });

  it('an offer that expired before the click is refused in words; the wallet is never asked', async () => {
    const signatures = evmWallet.signatures;
    const page = await openPaywall(`${expiredServer.url}/report`);
    await payWith(page, /rUSD with an Ethereum wallet/);
    await poll(() => page.locator('#status').textContent()).toBe(
      'This offer expired before it was paid. Nothing was charged: reload the page for a fresh offer.',
    );
    expect(evmWallet.signatures).toBe(signatures);
    await page.close();
  });
});

describe('receipts dashboard in Chromium, over the same store', BROWSER_TEST, () => {
  async function openDashboard(query = ''): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/dashboard/${query}`);
    await page.getByLabel('Dashboard key').fill(DASHBOARD_KEY);
    await page.getByRole('button', { name: 'Open' }).click();
    await poll(() => page.locator('#count').textContent()).toMatch(/receipts$/);
    return page;
  }

  it('the API refuses a missing or wrong key (401) and serves the right one', async () => {
    expect((await fetch(`${server.url}/dashboard/api/summary`)).status).toBe(401);
    expect(
      (
        await fetch(`${server.url}/dashboard/api/summary`, {
          headers: { Authorization: 'Bearer wrong-key-wrong-key-wrong' },
        })
      ).status,
    ).toBe(401);
    expect(
      (await fetch(`${server.url}/dashboard/api/summary`, { headers: { Authorization: `Bearer ${DASHBOARD_KEY}` } }))
        .status,
    ).toBe(200);
  });

  it('lists the three payments made from the page, each verified; revenue chart per rail; audit chain intact; filters by rail', async () => {
    const page = await openDashboard();
    expect(await page.locator('#count').textContent()).toBe('3 receipts');
    expect(await page.locator('#verified-count').textContent()).toBe('3 verified');
    expect(await page.locator('#flagged-count').textContent()).toBe('0 failed verification');
    const rows = await page.locator('table:has(th:text("Signature")) tbody tr').allTextContents();
    expect(rows.map((r) => /(evm-eip3009|solana-spl|lightning-l402)/.exec(r)?.[1]).sort()).toEqual([
      'evm-eip3009',
      'lightning-l402',
      'solana-spl',
    ]);
    expect(rows.every((r) => r.includes('GET /report') && r.includes('✓ verified'))).toBe(true);
    expect(await page.locator('svg rect[data-rail]').count()).toBe(3);
    expect(await page.locator('#audit').textContent()).toMatch(
      /^Audit log chain intact: \d+ entries checked end to end\.$/,
    );
    await screenshot(page, 'dashboard');
    await expectAccessible(page, 'the dashboard');
    await page.locator('#f-rail').selectOption('solana-spl');
    await page.getByRole('button', { name: 'Apply' }).click();
    await poll(() => page.locator('#count').textContent()).toBe('1 receipts');
    expect(await page.locator('table:has(th:text("Signature")) tbody').textContent()).toContain('solana-spl');
    await page.close();
  });

  it('a receipt altered in the database is flagged, not hidden; the CSV and JSON-lines exports carry every receipt', async () => {
    const [victim] = await store.listSettled({});
    if (!victim) throw new Error('no settled payment');
    const tampered: SignedReceipt = { ...victim.record.receipt, amount: '1' };
    store.database
      .prepare('UPDATE x402_payments SET receipt = ? WHERE payment_id = ?')
      .run(JSON.stringify(tampered), victim.paymentId);
    const page = await openDashboard();
    expect(await page.locator('#flagged-count').textContent()).toBe('1 failed verification');
    const flagged = page.locator(`tr.tampered[data-payment="${victim.paymentId}"]`);
    expect(await flagged.textContent()).toContain('✗ The receipt is not authentic: the signature does not verify.');
    await screenshot(page, 'dashboard-tampered');
    await expectAccessible(page, 'the dashboard with a flagged receipt');
    await page.close();

    const auth = { headers: { Authorization: `Bearer ${DASHBOARD_KEY}` } };
    const csv = await (await fetch(`${server.url}/dashboard/api/export.csv`, auth)).text();
    const lines = csv.trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(
      'settled_at,receipt_id,payment_id,rail,route,network,asset,amount,payer,payee,reference,verified,problem',
    );
    expect(lines.filter((l) => l.includes(',false,'))).toHaveLength(1);
    const jsonl = (await (await fetch(`${server.url}/dashboard/api/export.jsonl`, auth)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SignedReceipt);
    expect(jsonl).toHaveLength(3);
    const verdicts = await Promise.all(
      jsonl.map((r) =>
        verifyReceipt(r, jwks).then(
          () => true,
          () => false,
        ),
      ),
    );
    expect(verdicts.filter((v) => !v)).toHaveLength(1); // the altered one, exported as stored: a dispute sees it fail
  });
});
