import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import {
  createReceiptSigner,
  paywall,
  type FetchLike,
  type Paywall,
  type PaywallOptions,
  type RoutesConfig,
} from '../../src/index';
import { evmEip2612Server, evmEip3009Server, evmWallet, type EvmWallet } from '../../adapters/evm/index';
import type { EvmDevnet } from '../../fixtures/evm/index';

/** Price of every EVM test route: 0.01 rUSD. */
export const PRICE = 10_000n;

/** Routes of the EVM tests. */
export const evmRoutes: RoutesConfig = {
  'GET /paid/3009': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }], description: 'EIP-3009 paid' },
  'GET /paid/2612': { accepts: [{ rail: 'evm-eip2612', amount: PRICE }] },
  'POST /paid/both': {
    accepts: [
      { rail: 'evm-eip3009', amount: PRICE },
      { rail: 'evm-eip2612', amount: PRICE },
    ],
  },
  'GET /paid/fails': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] },
  'GET /paid/other': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] },
  // Our EIP-2612 extension listed first: the 402 lists the standard EIP-3009 offer before it (offerOrder).
  'GET /paid/2612-first': {
    accepts: [
      { rail: 'evm-eip2612', amount: PRICE },
      { rail: 'evm-eip3009', amount: PRICE },
    ],
  },
};

/** A paywall over the devnet's token with both EVM rails, served in-process. */
export async function evmPaywall(
  devnet: EvmDevnet,
  options: Partial<PaywallOptions> = {},
): Promise<{ pw: Paywall; fetch: FetchLike }> {
  const settler = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  };
  const common = { ...settler, chainId: devnet.chainId, token: devnet.token, payTo: devnet.accounts.payee.address };
  const pw = paywall(evmRoutes, {
    rails: [evmEip3009Server(common), evmEip2612Server(common)],
    signer: await createReceiptSigner(),
    ...options,
  });
  const handler = pw.wrap(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/paid/fails') return new Response('boom', { status: 500 });
    const body = request.method === 'POST' ? await request.text() : '';
    return Response.json({ ok: true, path, body });
  });
  const fetch: FetchLike = async (input, init) => handler(new Request(input, init));
  return { pw, fetch };
}

/** An EVM wallet for a devnet account. */
export function walletFor(devnet: EvmDevnet, name: 'payer' | 'payer2' | 'poor'): EvmWallet {
  return evmWallet(privateKeyToAccount(devnet.accounts[name].privateKey as Hex), { publicClient: devnet.publicClient });
}
