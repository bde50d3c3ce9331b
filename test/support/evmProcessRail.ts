/**
 * The EVM EIP-3009 server rail as a child server process builds it from plain config (the test passes the
 * devnet's endpoints and keys through the environment).
 */
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { evmEip2612Server, evmEip3009Server, MULTICALL3_ADDRESS } from '../../adapters/evm/index';
import type { EvmDevnet } from '../../fixtures/evm/index';
import type { ServerRail } from '../../src/index';

/** What a server process needs to settle on the test's anvil. */
export type EvmProcessConfig = {
  rpcUrl: string;
  chainId: number;
  token: { address: Address; name: string; version: string };
  payTo: Address;
  gasKey: Hex;
  /** Batched EIP-3009 settlement through the devnet's batch-call contract, flushed at `maxSize` payments. */
  batch?: { maxSize: number; windowMs: number };
};

/** The config of a process that settles with the devnet account `gas`. */
export function evmProcessConfig(evm: EvmDevnet, gas: 'facilitator' | 'deployer' = 'facilitator'): EvmProcessConfig {
  return {
    rpcUrl: evm.rpcUrl,
    chainId: evm.chainId,
    token: { address: evm.token.address, name: evm.token.name, version: evm.token.version },
    payTo: evm.accounts.payee.address,
    gasKey: evm.accounts[gas].privateKey as Hex,
  };
}

/** viem clients for an anvil reached over HTTP from another process: a public client, and wallet clients by key. */
export function anvilClients(rpcUrl: string, chainId: number) {
  const chain = defineChain({
    id: chainId,
    name: 'test anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const transport = http(rpcUrl);
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 20 }),
    walletClient: (key: Hex) =>
      createWalletClient({ account: privateKeyToAccount(key), chain, transport, pollingInterval: 20 }),
  };
}

/** Builds the EIP-3009 rail (id `evm-eip3009`, default) or the EIP-2612 one (`evm-eip2612`) from a process config. */
export function evmProcessRail(
  config: EvmProcessConfig,
  method: 'evm-eip3009' | 'evm-eip2612' = 'evm-eip3009',
): ServerRail {
  const clients = anvilClients(config.rpcUrl, config.chainId);
  const publicClient = clients.publicClient;
  const walletClient = clients.walletClient(config.gasKey);
  const parameters = {
    publicClient,
    walletClient,
    pollingIntervalMs: 5,
    confirmTimeoutMs: 20_000,
    chainId: config.chainId,
    token: config.token,
    payTo: config.payTo,
  };
  if (method === 'evm-eip2612') return evmEip2612Server(parameters);
  const batch = config.batch && { multicall: MULTICALL3_ADDRESS, ...config.batch };
  return evmEip3009Server({ ...parameters, ...(batch ? { batch } : {}) });
}
