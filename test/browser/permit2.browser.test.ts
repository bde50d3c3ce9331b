/**
 * The paywall page pays Permit2 offers in real Chromium on anvil (the canonical Permit2 and x402 proxies installed
 * by the devnet), through the injected EIP-1193 test wallet:
 * - `exact` + Permit2 from a payer who never approved Permit2: the wallet signs the PermitWitnessTransferFrom and an
 *   EIP-2612 permit to Permit2 (`eip2612GasSponsoring`), the server submits both; the payer pays the price and no
 *   gas, the receipt is verified in the page;
 * - `upto` from a payer who approved Permit2 once: the page shows "up to" the maximum, one signature, the route
 *   charges less after serving, and the page shows what was charged (from the verified receipt);
 * - a server that does not sponsor the approval: the page says an approval is needed and asks for no signature.
 */
import { Keypair } from '@solana/web3.js';
import type { Page } from '@playwright/test';
import { maxUint256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMIT2_ADDRESS, evmPermit2Server, evmUptoServer } from '../../adapters/evm/index';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { createReceiptSigner, paywall, reportCharge } from '../../src/index';
import { withPaywallPage } from '../../src/paywall-ui/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import {
  injectTestWallets,
  launchBrowser,
  screenshot,
  type EvmWalletControl,
  type TestBrowser,
} from '../support/browser';
import { seriousA11yViolations } from '../support/axe';

const PRICE = 10_000n;
const MAX = 50_000n;
const CHARGE = 12_345n;
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });

let evm: EvmDevnet;
let server: StartedServer;
let strictServer: StartedServer;
let browser: TestBrowser;
let wallet: EvmWalletControl;

beforeAll(async () => {
  evm = await startEvmDevnet();
  // payer2 approved Permit2 once, by transaction; payer never did.
  const approve = await evm.walletClientFor('payer2').writeContract({
    address: evm.token.address,
    abi: railsTokenAbi,
    functionName: 'approve',
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await evm.publicClient.waitForTransactionReceipt({ hash: approve });
  const settler = {
    publicClient: evm.publicClient,
    walletClient: evm.walletClientFor('facilitator'),
    pollingIntervalMs: 5,
    chainId: evm.chainId,
    token: evm.token,
    payTo: evm.accounts.payee.address,
  };
  const signer = await createReceiptSigner();
  const pageOptions = {
    theme: { title: 'Metered API' },
    assets: { [evm.token.address]: { symbol: 'rUSD', decimals: 6 } },
  };
  const pw = paywall(
    {
      'GET /report': { accepts: [{ rail: 'evm-permit2', amount: PRICE }] },
      'GET /metered': { accepts: [{ rail: 'evm-upto', amount: MAX }] },
    },
    { rails: [evmPermit2Server(settler), evmUptoServer(settler)], signer, issuer: 'http://127.0.0.1' },
  );
  server = await serveFetch(
    withPaywallPage(pw, pageOptions).wrap((request) => {
      if (new URL(request.url).pathname === '/metered') reportCharge(request, CHARGE);
      return Response.json({ forecast: 'paid with Permit2' });
    }),
  );
  const strict = paywall(
    { 'GET /report': { accepts: [{ rail: 'evm-permit2', amount: PRICE }] } },
    { rails: [evmPermit2Server({ ...settler, gasSponsoring: false })], signer },
  );
  strictServer = await serveFetch(withPaywallPage(strict, pageOptions).wrap(() => Response.json({ never: true })));
  browser = await launchBrowser();
  wallet = {
    account: privateKeyToAccount(evm.accounts.payer.privateKey),
    chainId: evm.chainId,
    rejectSignature: false,
    rejectSwitch: false,
    signatures: 0,
    signedTypes: [],
  };
  await injectTestWallets(
    browser.context,
    { control: wallet, publicClient: evm.publicClient },
    { control: { keypair: Keypair.generate(), rejectSignature: false, signatures: 0 } },
  );
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await strictServer?.close();
  await evm?.stop();
});

async function open(url: string): Promise<Page> {
  const page = await browser.context.newPage();
  expect((await page.goto(url))?.status()).toBe(402);
  return page;
}

const allowance = (owner: `0x${string}`) =>
  evm.publicClient.readContract({
    address: evm.token.address,
    abi: railsTokenAbi,
    functionName: 'allowance',
    args: [owner, PERMIT2_ADDRESS],
  });

describe('paywall page: Permit2 and upto in Chromium, on anvil', { timeout: 120_000 }, () => {
  it('exact + Permit2 without an approval: two signatures (witness transfer, EIP-2612 permit), paid once, no gas from the payer, receipt verified', async () => {
    const payer = evm.accounts.payer.address;
    expect(await allowance(payer)).toBe(0n);
    wallet.account = privateKeyToAccount(evm.accounts.payer.privateKey);
    wallet.signedTypes = [];
    const before = {
      payer: await evm.balanceOf(payer),
      payee: await evm.balanceOf(evm.accounts.payee.address),
      gas: await evm.publicClient.getBalance({ address: payer }),
    };
    const page = await open(`${server.url}/report`);
    expect(await page.locator('li.offer').textContent()).toContain('rUSD on local chain 31337 (Permit2)');
    await page.getByRole('button', { name: 'Pay 0.01 rUSD with Permit2 (Ethereum wallet)' }).click();
    await poll(() => page.locator('#receipt-check').textContent()).toMatch(
      /^Receipt verified: signed by the server's key/,
    );
    expect(await page.locator('#receipt').textContent()).toContain('evm-permit2');
    expect(await page.locator('#content').textContent()).toContain('paid with Permit2');
    expect(wallet.signedTypes).toEqual(['PermitWitnessTransferFrom', 'Permit']);
    const after = {
      payer: await evm.balanceOf(payer),
      payee: await evm.balanceOf(evm.accounts.payee.address),
      gas: await evm.publicClient.getBalance({ address: payer }),
    };
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    expect(after.gas).toBe(before.gas); // the server submitted the permit and the transfer
    expect(await allowance(payer)).toBe(0n); // the permit granted exactly the price, and it was spent
    await page.close();
  });

  it('upto: shows "up to" the maximum, one signature (Permit2 already approved), the route charges less, the page shows the charge from the verified receipt', async () => {
    const payer = evm.accounts.payer2.address;
    wallet.account = privateKeyToAccount(evm.accounts.payer2.privateKey);
    wallet.signedTypes = [];
    const before = { payer: await evm.balanceOf(payer), payee: await evm.balanceOf(evm.accounts.payee.address) };
    const page = await open(`${server.url}/metered`);
    expect(await page.locator('li.offer .amount').textContent()).toBe('up to 0.05 rUSD');
    await page.getByRole('button', { name: 'Pay up to 0.05 rUSD with an Ethereum wallet' }).click();
    await poll(() => page.locator('#receipt-check').textContent()).toMatch(
      /^Receipt verified: signed by the server's key/,
    );
    expect(await page.locator('#receipt').textContent()).toContain(
      '0.012345 rUSD charged (authorized up to 0.05 rUSD)',
    );
    expect(await page.locator('#status').textContent()).toBe(
      'Paid 0.012345 rUSD charged (authorized up to 0.05 rUSD). Here is what you paid for.',
    );
    expect(wallet.signedTypes).toEqual(['PermitWitnessTransferFrom']);
    const after = { payer: await evm.balanceOf(payer), payee: await evm.balanceOf(evm.accounts.payee.address) };
    expect(before.payer - after.payer).toBe(CHARGE);
    expect(after.payee - before.payee).toBe(CHARGE);
    await screenshot(page, 'paywall-upto');
    expect(await seriousA11yViolations(page), 'axe-core, the upto receipt').toEqual([]);
    await page.close();
  });

  it('a server that does not sponsor the approval: the page says Permit2 needs an approval; nothing signed, nothing moved', async () => {
    const payer = evm.accounts.payer.address;
    wallet.account = privateKeyToAccount(evm.accounts.payer.privateKey);
    const signatures = wallet.signatures;
    const before = await evm.balanceOf(payer);
    const page = await open(`${strictServer.url}/report`);
    await page.getByRole('button', { name: /with Permit2/ }).click();
    await poll(() => page.locator('#status').textContent()).toMatch(
      /^Paying with Permit2 needs a one-time approval of Permit2 .+ Nothing was charged\.$/,
    );
    expect(wallet.signatures).toBe(signatures);
    expect(await evm.balanceOf(payer)).toBe(before);
    expect(await seriousA11yViolations(page), 'axe-core, the approval error').toEqual([]);
    await page.close();
  });
});
