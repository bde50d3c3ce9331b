import { getAddress, type Address } from 'viem';
import { ConfigurationError } from '../../src/index';

/** One EIP-2612 spender (gas account) of one token on one chain, and the one payee it pays. */
export type SpenderBinding = { chainId: number; token: Address; spender: Address; payee: Address };

const payeesBySpender = new Map<string, Address>();

/**
 * Binds an EIP-2612 spender to its one payee for this process, or throws a ConfigurationError when the same
 * spender of the same token already pays another payee. A permit names a spender, not a payee: two payees
 * behind one spender would let a permit the payer made for one be settled to the other. Binding the same
 * payee again is fine (rails and permit authorizers of one payee share a gas account).
 *
 * @example bindSpender({ chainId: 8453, token: usdc, spender: gasAccount.address, payee: merchant });
 */
export function bindSpender(binding: SpenderBinding): void {
  const key = `${binding.chainId}:${binding.token.toLowerCase()}:${binding.spender.toLowerCase()}`;
  const payee = getAddress(binding.payee);
  const bound = payeesBySpender.get(key);
  if (bound !== undefined && bound !== payee) {
    throw new ConfigurationError(
      `The EIP-2612 spender ${getAddress(binding.spender)} already pays ${bound} for token ${getAddress(binding.token)}; it cannot also pay ${payee}. A permit binds a spender, not a payee: give each payee its own gas account, or offer EIP-3009.`,
      { details: { spender: getAddress(binding.spender), token: getAddress(binding.token), boundPayee: bound, payee } },
    );
  }
  payeesBySpender.set(key, payee);
}
