import type { Account, Address, PublicClient } from 'viem';
import type { Wallet } from '../../src/index';

/** An EVM wallet: a viem account that can sign typed data, and a public client for chain reads (EIP-2612 nonces). */
export type EvmWallet = Wallet & {
  readonly kind: 'evm';
  readonly account: Account;
  readonly address: Address;
  readonly publicClient?: PublicClient;
};

/**
 * Wraps a viem account as a payment wallet.
 *
 * @example const wallet = evmWallet(privateKeyToAccount(key), { publicClient });
 */
export function evmWallet(account: Account, options: { publicClient?: PublicClient } = {}): EvmWallet {
  return {
    kind: 'evm',
    account,
    address: account.address,
    ...(options.publicClient ? { publicClient: options.publicClient } : {}),
  };
}

/** True for a wallet made by {@link evmWallet}. */
export function isEvmWallet(wallet: Wallet): wallet is EvmWallet {
  return wallet.kind === 'evm' && 'account' in wallet && typeof (wallet as { address?: unknown }).address === 'string';
}
