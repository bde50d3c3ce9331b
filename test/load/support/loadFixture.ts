/**
 * The load tests' common ground: one anvil with the token (started here), server-process configs that share
 * a store, a challenge secret and a receipt key, and the EVM payer wallet.
 */
import { randomBytes } from 'node:crypto';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { generateReceiptKey } from '../../../src/core/receipt/signer';
import { evmWallet, type EvmWallet } from '../../../adapters/evm/index';
import type { EvmDevnet } from '../../../fixtures/evm/index';
import type { LoadServerConfig } from './server';

/** Price of `GET /paid`: 0.01 rUSD. */
export const LOAD_PRICE = 10_000n;

/** The Host every load request carries, as behind one load balancer. */
export const LOAD_HOST = 'shop.test';

/**
 * Configs of two server processes on one store. Each has its own gas account (`facilitator`, `deployer`), as
 * separate instances would, and both share the challenge secret and the receipt key.
 */
export async function twoServerConfigs(
  evm: EvmDevnet,
  store: LoadServerConfig['store'],
): Promise<[LoadServerConfig, LoadServerConfig]> {
  const shared = {
    store,
    challengeSecret: randomBytes(32).toString('hex'),
    receiptJwk: await generateReceiptKey(),
    price: LOAD_PRICE.toString(),
  };
  const evmFor = (gas: 'facilitator' | 'deployer'): LoadServerConfig['evm'] => ({
    rpcUrl: evm.rpcUrl,
    chainId: evm.chainId,
    token: { address: evm.token.address, name: evm.token.name, version: evm.token.version },
    payTo: evm.accounts.payee.address,
    gasKey: evm.accounts[gas].privateKey as Hex,
  });
  return [
    { ...shared, evm: evmFor('facilitator') },
    { ...shared, evm: evmFor('deployer') },
  ];
}

/** The funded EVM payer. */
export function payerWallet(evm: EvmDevnet): EvmWallet {
  return evmWallet(privateKeyToAccount(evm.accounts.payer.privateKey as Hex), { publicClient: evm.publicClient });
}

/** Payer and payee token balances. */
export async function balances(evm: EvmDevnet): Promise<{ payer: bigint; payee: bigint }> {
  const [payer, payee] = await Promise.all([
    evm.balanceOf(evm.accounts.payer.address),
    evm.balanceOf(evm.accounts.payee.address),
  ]);
  return { payer, payee };
}
