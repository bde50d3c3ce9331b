import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { maxUint256, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { HTTPFacilitatorClient, x402ResourceServer, type FacilitatorClient } from '@x402/core/server';
import { paymentMiddleware } from '@x402/hono';
import { declareEip2612GasSponsoringExtension } from '@x402/extensions';
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import {
  createReceiptSigner,
  paywall,
  payingFetch,
  receiptOf,
  RECEIPT_EXTENSION_KEY,
  verifyReceipt,
  type FetchLike,
  type Paywall,
} from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startFacilitator, type StartedFacilitator } from '../../src/facilitator/index';
import {
  PERMIT2_ADDRESS,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  evmPermit2Client,
  evmPermit2Server,
} from '../../adapters/evm/index';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet, type EvmDevnetAccountName } from '../../fixtures/evm/index';
import { walletFor } from '../support/evmHarness';
import { officialEvmFacilitator } from './support/officialEvm';

/**
 * Issue 14: x402 `exact` with `assetTransferMethod: "permit2"`, with and without `eip2612GasSponsoring`, between
 * the official SDK (2.27) and ours on anvil, in the three directions. `payer2` approved Permit2 once by transaction;
 * `payer` never did and pays with a gas-sponsored EIP-2612 permit each time (the permit is for the amount, used up
 * by the transfer).
 */

const PRICE = 15_000n;
let devnet: EvmDevnet;
let pw: Paywall;
let paywallServer: StartedServer;
let facilitator: StartedFacilitator;

const KEY = 'permit2-interop-key-0123456789abcdef';

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const approve = await devnet.walletClientFor('payer2').writeContract({
    address: devnet.token.address,
    abi: railsTokenAbi,
    functionName: 'approve',
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await devnet.publicClient.waitForTransactionReceipt({ hash: approve });
  const settler = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  };
  const rail = evmPermit2Server({
    ...settler,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  });
  pw = paywall(
    { 'GET /paid/permit2': { accepts: [{ rail: 'evm-permit2', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  paywallServer = await serveFetch(pw.wrap(async () => Response.json({ ok: true })));
  facilitator = await startFacilitator({
    rails: [rail],
    apiKeys: [KEY],
    signers: { 'eip155:*': [devnet.accounts.facilitator.address] },
  });
});
afterAll(async () => {
  await paywallServer?.close();
  await facilitator?.close();
  await devnet?.stop();
});

const balances = async (payer: EvmDevnetAccountName) => ({
  payer: await devnet.balanceOf(devnet.accounts[payer].address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});
const allowance = (owner: EvmDevnetAccountName) =>
  devnet.publicClient.readContract({
    address: devnet.token.address,
    abi: railsTokenAbi,
    functionName: 'allowance',
    args: [devnet.accounts[owner].address, PERMIT2_ADDRESS],
  });

/** The official client paying from `name`, allowed the devnet token; RPC access lets it sign gas-sponsored permits. */
function officialClient(name: EvmDevnetAccountName): x402Client {
  const account = privateKeyToAccount(devnet.accounts[name].privateKey as Hex);
  return new x402Client()
    .register(devnet.network, new ExactEvmClientScheme(account, { rpcUrl: devnet.rpcUrl }))
    .setSpendControls({
      allowedAssets: [{ network: devnet.network, asset: devnet.token.address, maxAmountPerPayment: PRICE.toString() }],
    });
}

/** An official `@x402/hono` app selling `GET /weather` for PRICE, exact + Permit2, declaring gas sponsoring. */
function officialApp(client: FacilitatorClient): FetchLike {
  const server = new x402ResourceServer(client).register(devnet.network, new ExactEvmServerScheme());
  const app = new Hono();
  app.use(
    paymentMiddleware(
      {
        'GET /weather': {
          accepts: {
            scheme: 'exact',
            network: devnet.network,
            payTo: devnet.accounts.payee.address as Address,
            price: {
              amount: PRICE.toString(),
              asset: devnet.token.address,
              extra: { name: devnet.token.name, version: devnet.token.version, assetTransferMethod: 'permit2' },
            },
            maxTimeoutSeconds: 120,
          },
          extensions: declareEip2612GasSponsoringExtension(),
        },
      },
      server,
    ),
  );
  app.get('/weather', (c) => c.json({ weather: 'sunny' }));
  return async (input, init) => app.fetch(new Request(input, init));
}

/** The settlement went through the exact proxy and moved PRICE from `payer` to payee, from a facilitator-paid tx. */
async function expectSettled(
  transaction: string,
  payer: EvmDevnetAccountName,
  before: { payer: bigint; payee: bigint },
) {
  const tx = await devnet.publicClient.getTransactionReceipt({ hash: transaction as Hex });
  expect(tx.status).toBe('success');
  expect(tx.to?.toLowerCase()).toBe(X402_EXACT_PERMIT2_PROXY_ADDRESS.toLowerCase());
  expect(tx.from.toLowerCase()).toBe(devnet.accounts.facilitator.address.toLowerCase());
  const after = await balances(payer);
  expect(before.payer - after.payer).toBe(PRICE);
  expect(after.payee - before.payee).toBe(PRICE);
}

describe('official @x402/fetch client → our paywall (exact + Permit2)', () => {
  it('offers exact/permit2 and declares eip2612GasSponsoring in the 402', async () => {
    const res = await fetch(`${paywallServer.url}/paid/permit2`);
    expect(res.status).toBe(402);
    const required = JSON.parse(Buffer.from(res.headers.get('PAYMENT-REQUIRED') ?? '', 'base64').toString('utf8'));
    expect(required.accepts[0]).toMatchObject({
      scheme: 'exact',
      extra: { assetTransferMethod: 'permit2', name: 'Rails USD', version: '2' },
    });
    expect(required.extensions).toHaveProperty('eip2612GasSponsoring.info.version', '1');
  });

  it('pays with an existing Permit2 approval', async () => {
    const before = await balances('payer2');
    const res = await wrapFetchWithPayment(fetch, officialClient('payer2'))(`${paywallServer.url}/paid/permit2`);
    expect(res.status).toBe(200);
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(settle).toMatchObject({ success: true, network: devnet.network });
    await expectSettled(settle.transaction, 'payer2', before);
    const receipt = await verifyReceipt(settle.extensions?.[RECEIPT_EXTENSION_KEY], pw.jwks());
    expect(receipt).toMatchObject({
      rail: 'evm-permit2',
      scheme: 'exact',
      amount: PRICE.toString(),
      reference: settle.transaction,
    });
  });

  it('pays without any approval: it signs an EIP-2612 permit to Permit2 and our server submits it', async () => {
    expect(await allowance('payer')).toBe(0n);
    const before = await balances('payer');
    const res = await wrapFetchWithPayment(fetch, officialClient('payer'))(`${paywallServer.url}/paid/permit2`);
    expect(res.status).toBe(200);
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    await expectSettled(settle.transaction, 'payer', before);
    expect(await allowance('payer')).toBe(0n); // the permit was for the price, used up by the transfer
  });
});

describe('our payingFetch → official @x402/hono server + official facilitator (exact + Permit2)', () => {
  let official: FetchLike;
  beforeAll(() => {
    official = officialApp(officialEvmFacilitator(devnet).client);
  });

  it('pays with an existing Permit2 approval', async () => {
    const before = await balances('payer2');
    const res = await payingFetch(official, { adapters: [evmPermit2Client()], wallets: [walletFor(devnet, 'payer2')] })(
      'http://official.test/weather',
    );
    expect(res.status).toBe(200);
    const outcome = receiptOf(res);
    expect(outcome).toMatchObject({ rail: 'evm-permit2', receiptCheck: 'on_chain' });
    await expectSettled(outcome?.settleResponse?.transaction ?? '', 'payer2', before);
  });

  it('pays without any approval through the gas-sponsored permit the official server declares', async () => {
    const before = await balances('payer');
    const res = await payingFetch(official, { adapters: [evmPermit2Client()], wallets: [walletFor(devnet, 'payer')] })(
      'http://official.test/weather',
    );
    expect(res.status).toBe(200);
    await expectSettled(receiptOf(res)?.settleResponse?.transaction ?? '', 'payer', before);
  });
});

describe('official resource server → our facilitator (exact + Permit2)', () => {
  let official: FetchLike;
  beforeAll(() => {
    const auth = { Authorization: `Bearer ${KEY}` };
    official = officialApp(
      new HTTPFacilitatorClient({
        url: facilitator.url,
        createAuthHeaders: async () => ({ verify: auth, settle: auth, supported: auth }),
      }),
    );
  });

  it('/supported lists exact on the devnet and the eip2612GasSponsoring extension', async () => {
    const supported = await (
      await fetch(`${facilitator.url}/supported`, { headers: { Authorization: `Bearer ${KEY}` } })
    ).json();
    expect(supported.extensions).toContain('eip2612GasSponsoring');
    expect(supported.kinds).toContainEqual(
      expect.objectContaining({
        scheme: 'exact',
        network: devnet.network,
        extra: expect.objectContaining({ assetTransferMethod: 'permit2' }),
      }),
    );
  });

  it('the official client pays with an existing approval, and without one by gas-sponsored permit', async () => {
    for (const payer of ['payer2', 'payer'] as const) {
      const before = await balances(payer);
      const res = await wrapFetchWithPayment(official, officialClient(payer))('http://official.test/weather');
      expect(res.status).toBe(200);
      await expectSettled(
        decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '').transaction,
        payer,
        before,
      );
    }
  });
});
