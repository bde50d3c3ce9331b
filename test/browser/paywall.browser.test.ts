/**
 * The paywall page in real Chromium, paid end to end on the devnets: an EIP-1193 wallet over anvil (starting
 * on the wrong chain), a Wallet Standard wallet over the Solana devnet, and a Lightning invoice paid from the
 * devnet's alice node while the page polls. Each payment moves exactly the price, and the page shows the
 * resource and the receipt verified against the server's JWKS with Web Crypto. Failures (rejected signature,
 * refused chain switch, insufficient balance, expired offer) are shown in words and charge nothing.
 */
import { pay } from 'ln-service';
import type { Page } from '@playwright/test';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devnetServerRails, type AllDevnets } from '../../fixtures/demo/devnetRails';
import { startDevnets } from '../../fixtures/startDevnets';
import { createReceiptSigner, paywall, type PriceOffer } from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { withPaywallPage } from '../../src/paywall-ui/index';
import { injectTestWallets, launchBrowser, screenshot, type EvmWalletControl, type SolanaWalletControl, type TestBrowser } from '../support/browser';

const PRICE = 10_000n;
const PRICE_MSAT = 21_000n;

let devnets: AllDevnets;
let server: StartedServer;
let expiredServer: StartedServer;
let browser: TestBrowser;
let evmWallet: EvmWalletControl;
let solanaWallet: SolanaWalletControl;

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
    assets: { [devnets.evm.token.address]: { symbol: 'rUSD', decimals: 6 }, [devnets.solana.mint.toBase58()]: { symbol: 'dUSD', decimals: 6 } },
    solanaRpcUrls: { [devnets.solana.network]: devnets.solana.rpcUrl },
    invoiceStatus: rails.lightning,
  };
  const handler = () => Response.json({ forecast: 'sunny on every rail' });
  const pw = paywall({ 'GET /report': { accepts, description: 'The forecast' } }, { rails: [rails.evm3009, rails.evm2612, rails.solana, rails.lightning], signer, issuer: 'http://127.0.0.1' });
  server = await serveFetch(withPaywallPage(pw, pageOptions).wrap(handler));
  // A page made ten minutes ago: its offers have expired by the time the person clicks.
  const stale = paywall({ 'GET /report': { accepts: accepts.slice(0, 1) } }, { rails: [rails.evm3009], signer, issuer: 'http://127.0.0.1' });
  expiredServer = await serveFetch(withPaywallPage(stale, { ...pageOptions, now: () => Date.now() - 600_000 }).wrap(handler));
  browser = await launchBrowser();
  evmWallet = { account: privateKeyToAccount(devnets.evm.accounts.payer.privateKey), chainId: 1, rejectSignature: false, rejectSwitch: false, signatures: 0 };
  solanaWallet = { keypair: devnets.solana.keypairs.payer, rejectSignature: false, signatures: 0 };
  await injectTestWallets(browser.context, { control: evmWallet, publicClient: devnets.evm.publicClient }, { control: solanaWallet });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await expiredServer?.close();
  await devnets?.stop();
});

async function openPaywall(url = `${server.url}/report`): Promise<Page> {
  const page = await browser.context.newPage();
  const response = await page.goto(url);
  expect(response?.status()).toBe(402);
  return page;
}

async function payWith(page: Page, label: RegExp): Promise<void> {
  await page.getByRole('button', { name: label }).click();
}

async function expectPaid(page: Page, rail: string): Promise<void> {
  await expect.poll(() => page.locator('#receipt-check').textContent(), { timeout: 20_000 }).toMatch(/^Receipt verified: signed by the server's key/);
  expect(await page.locator('#receipt').textContent()).toContain(rail);
  expect(await page.locator('#content').textContent()).toContain('sunny on every rail');
  expect(await page.locator('#status').textContent()).toMatch(/^Paid /);
}

describe('paywall page in Chromium, on the devnets', () => {
  it('lists every offer in the server’s order with human amounts, themed, keyboard-reachable', async () => {
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
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Pay 0.01 rUSD with an Ethereum wallet');
    await screenshot(page, 'paywall');
    await page.close();
  });

  it('EVM: wallet on the wrong chain → switch; rejected signature and refused switch shown in words; then paid once (payer −price, payee +price), receipt verified', async () => {
    const { evm } = devnets;
    const before = [await evm.balanceOf(evm.accounts.payer.address), await evm.balanceOf(evm.accounts.payee.address)];
    const page = await openPaywall();
    evmWallet.rejectSwitch = true;
    await payWith(page, /rUSD with an Ethereum wallet/);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/You rejected the switch to local chain 31337 in your wallet\. Nothing was charged\./);
    evmWallet.rejectSwitch = false;
    evmWallet.rejectSignature = true;
    await payWith(page, /rUSD with an Ethereum wallet/);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/You rejected the signature in your wallet\. Nothing was charged\./);
    expect(evmWallet.chainId).toBe(devnets.evm.chainId); // the page asked for the switch
    evmWallet.rejectSignature = false;
    await payWith(page, /rUSD with an Ethereum wallet/);
    await expectPaid(page, 'evm-eip3009');
    const after = [await evm.balanceOf(evm.accounts.payer.address), await evm.balanceOf(evm.accounts.payee.address)];
    expect(before[0]! - after[0]!).toBe(PRICE);
    expect(after[1]! - before[1]!).toBe(PRICE);
    await screenshot(page, 'paywall-paid-evm');
    await page.close();
  });

  it('EVM: an account without tokens is told its balance is insufficient; nothing is signed', async () => {
    const payer = evmWallet.account;
    evmWallet.account = privateKeyToAccount(devnets.evm.accounts.poor.privateKey);
    const signatures = evmWallet.signatures;
    try {
      const page = await openPaywall();
      await payWith(page, /rUSD with an Ethereum wallet/);
      await expect.poll(() => page.locator('#status').textContent()).toMatch(/^Insufficient balance: your account 0x\w{4}…\w{4} holds 0 rUSD, the price is 0\.01 rUSD\. Nothing was charged\.$/);
      expect(evmWallet.signatures).toBe(signatures);
      await page.close();
    } finally {
      evmWallet.account = payer;
    }
  });

  it('Solana: a Wallet Standard wallet signs the partially signed transfer; paid once (payer −price, payee +price), receipt verified', async () => {
    const { solana } = devnets;
    const before = [solana.tokenBalance(solana.keypairs.payer.publicKey), solana.tokenBalance(solana.keypairs.payee.publicKey)];
    const page = await openPaywall();
    solanaWallet.rejectSignature = true;
    await payWith(page, /dUSD with a Solana wallet/);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/You rejected the signature in your wallet\. Nothing was charged\./);
    solanaWallet.rejectSignature = false;
    await payWith(page, /dUSD with a Solana wallet/);
    await expectPaid(page, 'solana-spl');
    const after = [solana.tokenBalance(solana.keypairs.payer.publicKey), solana.tokenBalance(solana.keypairs.payee.publicKey)];
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
      await expect.poll(() => page.locator('#status').textContent()).toMatch(/^Insufficient balance: .+ holds 0 dUSD, the price is 0\.01 dUSD\./);
      await page.close();
    } finally {
      solanaWallet.keypair = payer;
    }
  });

  it('Lightning: invoice shown as text and QR; paid from the payer node while the page polls; L402 retry served; bob +price; receipt verified', async () => {
    const { lightning } = devnets;
    const balance = async (name: 'alice' | 'bob') => lightning.channelBalance(name);
    const before = [await balance('alice'), await balance('bob')];
    const page = await openPaywall();
    await payWith(page, /21 sat with Lightning/);
    const invoice = page.locator('#ln-invoice');
    await expect.poll(() => invoice.inputValue()).toMatch(/^lnbcrt/);
    expect(await page.locator('#ln-qr svg').count()).toBe(1);
    await screenshot(page, 'paywall-lightning');
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
    await expect.poll(() => page.locator('#status').textContent()).toBe('This offer expired before it was paid. Nothing was charged: reload the page for a fresh offer.');
    expect(evmWallet.signatures).toBe(signatures);
    await page.close();
  });
});
