import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { maxUint256, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { x402Facilitator } from '@x402/core/facilitator';
import { HTTPFacilitatorClient, x402ResourceServer, type FacilitatorClient } from '@x402/core/server';
import { paymentMiddleware, setSettlementOverrides } from '@x402/hono';
import { declareEip2612GasSponsoringExtension } from '@x402/extensions';
import { UptoEvmScheme as UptoClientScheme } from '@x402/evm/upto/client';
import { UptoEvmScheme as UptoServerScheme } from '@x402/evm/upto/server';
import { UptoEvmScheme as UptoFacilitatorScheme } from '@x402/evm/upto/facilitator';
import {
  createReceiptSigner,
  isCaipNetwork,
  paywall,
  payingFetch,
  receiptOf,
  reportCharge,
  RECEIPT_EXTENSION_KEY,
  verifyReceipt,
  type FetchLike,
  type Paywall,
} from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startFacilitator, type StartedFacilitator } from '../../src/facilitator/index';
import {
  PERMIT2_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
  evmUptoClient,
  evmUptoServer,
} from '../../adapters/evm/index';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet, type EvmDevnetAccountName } from '../../fixtures/evm/index';
import { walletFor } from '../support/evmHarness';
import { officialFacilitatorSigner } from './support/officialEvm';

/**
 * Issue 14: the x402 `upto` scheme (Permit2) between the official SDK (2.27) and ours on anvil, three directions:
 * the payer authorizes MAX, the route charges CHARGE after serving, the settlement moves CHARGE (0: nothing) and
 * says so (`amount`). `payer2` approved Permit2 by transaction; `payer` pays by gas-sponsored permit.
 */

const MAX = 50_000n;
const CHARGE = 12_345n;
const KEY = 'upto-interop-key-0123456789abcdef';
let devnet: EvmDevnet;
let pw: Paywall;
let paywallServer: StartedServer;
let facilitator: StartedFacilitator;

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
  const rail = evmUptoServer({
    ...settler,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  });
  pw = paywall(
    {
      'GET /paid/upto': { accepts: [{ rail: 'evm-upto', amount: MAX }] },
      'GET /paid/upto-free': { accepts: [{ rail: 'evm-upto', amount: MAX }] },
    },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  paywallServer = await serveFetch(
    pw.wrap(async (request) => {
      reportCharge(request, new URL(request.url).pathname === '/paid/upto-free' ? 0n : CHARGE);
      return Response.json({ ok: true });
    }),
  );
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

function officialClient(name: EvmDevnetAccountName): x402Client {
  const account = privateKeyToAccount(devnet.accounts[name].privateKey as Hex);
  return new x402Client()
    .register(devnet.network, new UptoClientScheme(account, { rpcUrl: devnet.rpcUrl }))
    .setSpendControls({
      allowedAssets: [{ network: devnet.network, asset: devnet.token.address, maxAmountPerPayment: MAX.toString() }],
    });
}

/** The official upto facilitator, in-process, settling from the devnet's `facilitator` account. */
function officialUptoFacilitator(): FacilitatorClient {
  const f = new x402Facilitator().register(
    devnet.network,
    new UptoFacilitatorScheme(officialFacilitatorSigner(devnet)),
  );
  return {
    verify: (payload, requirements) => f.verify(payload, requirements),
    settle: (payload, requirements) => f.settle(payload, requirements),
    getSupported: async () => {
      const supported = f.getSupported();
      return {
        ...supported,
        kinds: supported.kinds.flatMap(({ network, ...kind }) =>
          isCaipNetwork(network) ? [{ ...kind, network }] : [],
        ),
      };
    },
  };
}

/** An official `@x402/hono` app selling `GET /metered` upto MAX, charging CHARGE through settlement overrides. */
function officialApp(client: FacilitatorClient): FetchLike {
  const server = new x402ResourceServer(client).register(devnet.network, new UptoServerScheme());
  const app = new Hono();
  app.use(
    paymentMiddleware(
      {
        'GET /metered': {
          accepts: {
            scheme: 'upto',
            network: devnet.network,
            payTo: devnet.accounts.payee.address as Address,
            price: {
              amount: MAX.toString(),
              asset: devnet.token.address,
              extra: { name: devnet.token.name, version: devnet.token.version },
            },
            maxTimeoutSeconds: 120,
          },
          extensions: declareEip2612GasSponsoringExtension(),
        },
      },
      server,
    ),
  );
  app.get('/metered', (c) => {
    setSettlementOverrides(c, { amount: CHARGE.toString() });
    return c.json({ used: CHARGE.toString() });
  });
  return async (input, init) => app.fetch(new Request(input, init));
}

async function expectCharged(
  transaction: string,
  payer: EvmDevnetAccountName,
  before: { payer: bigint; payee: bigint },
) {
  const tx = await devnet.publicClient.getTransactionReceipt({ hash: transaction as Hex });
  expect(tx.status).toBe('success');
  expect(tx.to?.toLowerCase()).toBe(X402_UPTO_PERMIT2_PROXY_ADDRESS.toLowerCase());
  const after = await balances(payer);
  expect(before.payer - after.payer).toBe(CHARGE);
  expect(after.payee - before.payee).toBe(CHARGE);
}

describe('official @x402/fetch client → our paywall (upto)', () => {
  it('offers upto with our gas account as facilitatorAddress; the client authorizes MAX and is charged what the route reports', async () => {
    for (const payer of ['payer2', 'payer'] as const) {
      const before = await balances(payer);
      const res = await wrapFetchWithPayment(fetch, officialClient(payer))(`${paywallServer.url}/paid/upto`);
      expect(res.status).toBe(200);
      const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
      expect(settle).toMatchObject({ success: true, amount: CHARGE.toString() });
      await expectCharged(settle.transaction, payer, before);
      const receipt = await verifyReceipt(settle.extensions?.[RECEIPT_EXTENSION_KEY], pw.jwks());
      expect(receipt).toMatchObject({
        rail: 'evm-upto',
        scheme: 'upto',
        amount: CHARGE.toString(),
        maxAmount: MAX.toString(),
      });
    }
  });

  it('a charge of 0 sends no transaction and moves nothing', async () => {
    const before = await balances('payer2');
    const blockBefore = await devnet.publicClient.getBlockNumber();
    const res = await wrapFetchWithPayment(fetch, officialClient('payer2'))(`${paywallServer.url}/paid/upto-free`);
    expect(res.status).toBe(200);
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(settle).toMatchObject({ success: true, amount: '0' });
    expect(await balances('payer2')).toEqual(before);
    expect(await devnet.publicClient.getBlockNumber()).toBe(blockBefore);
  });
});

describe('our payingFetch → official @x402/hono server + official upto facilitator', () => {
  it('authorizes MAX, is charged CHARGE, with an approval and by gas-sponsored permit', async () => {
    const official = officialApp(officialUptoFacilitator());
    for (const payer of ['payer2', 'payer'] as const) {
      const before = await balances(payer);
      const res = await payingFetch(official, { adapters: [evmUptoClient()], wallets: [walletFor(devnet, payer)] })(
        'http://official.test/metered',
      );
      expect(res.status).toBe(200);
      const outcome = receiptOf(res);
      expect(outcome).toMatchObject({
        rail: 'evm-upto',
        receiptCheck: 'on_chain',
        receipt: { amount: CHARGE.toString(), maxAmount: MAX.toString() },
      });
      await expectCharged(outcome?.settleResponse?.transaction ?? '', payer, before);
    }
  });
});

describe('official resource server → our facilitator (upto)', () => {
  it('/supported lists upto with our facilitator address; the official client is charged CHARGE', async () => {
    const supported = await (
      await fetch(`${facilitator.url}/supported`, { headers: { Authorization: `Bearer ${KEY}` } })
    ).json();
    expect(supported.kinds).toContainEqual(
      expect.objectContaining({
        scheme: 'upto',
        extra: expect.objectContaining({ facilitatorAddress: devnet.accounts.facilitator.address }),
      }),
    );
    const auth = { Authorization: `Bearer ${KEY}` };
    const official = officialApp(
      new HTTPFacilitatorClient({
        url: facilitator.url,
        createAuthHeaders: async () => ({ verify: auth, settle: auth, supported: auth }),
      }),
    );
    for (const payer of ['payer2', 'payer'] as const) {
      const before = await balances(payer);
      const res = await wrapFetchWithPayment(official, officialClient(payer))('http://official.test/metered');
      expect(res.status).toBe(200);
      const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
      expect(settle).toMatchObject({ success: true, amount: CHARGE.toString() });
      await expectCharged(settle.transaction, payer, before);
    }
  });
});
