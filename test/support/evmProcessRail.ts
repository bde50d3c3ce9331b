/**
 * The EVM EIP-3009 server rail as a child server process builds it from plain config (the test passes the
 * devnet's endpoints and keys through the environment).
 */
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { evmEip2612Server, evmEip3009Server } from '../../adapters/evm/index';
import type { EvmDevnet } from '../../fixtures/evm/index';
import type { ServerRail } from '../../src/index';

/** What a server process needs to settle on the test's anvil. */
export type EvmProcessConfig = { rpcUrl: string; chainId: number; token: { address: Address; name: string; version: string }; payTo: Address; gasKey: Hex };

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

/** Builds the EIP-3009 rail (id `evm-eip3009`, default) or the EIP-2612 one (`evm-eip2612`) from a process config. */
export function evmProcessRail(config: EvmProcessConfig, method: 'evm-eip3009' | 'evm-eip2612' = 'evm-eip3009'): ServerRail {
  const chain = defineChain({
    id: config.chainId,
    name: 'test anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  const transport = http(config.rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 });
  const walletClient = createWalletClient({ account: privateKeyToAccount(config.gasKey), chain, transport, pollingInterval: 20 });
  const parameters = { publicClient, walletClient, pollingIntervalMs: 5, confirmTimeoutMs: 20_000, chainId: config.chainId, token: config.token, payTo: config.payTo };
  return method === 'evm-eip2612' ? evmEip2612Server(parameters) : evmEip3009Server(parameters);
}
