import { getAddress, isAddress, type Address } from 'viem';
import { evmChainId, type PaymentRequirements } from '../../src/index';

/**
 * How an `exact` EVM offer moves the token: `eip3009` and `permit2` are x402 standard (`permit2`: a Permit2 witness
 * transfer through the canonical x402 proxy); `eip2612` is this project's own single-payee extension.
 */
export type AssetTransferMethod = 'eip3009' | 'permit2' | 'eip2612';

/** The transfer method an offer asks for (`extra.assetTransferMethod`, default EIP-3009 as in x402). */
export function transferMethodOf(req: PaymentRequirements): AssetTransferMethod | undefined {
  const m = req.extra.assetTransferMethod;
  if (m === undefined || m === 'eip3009') return 'eip3009';
  if (m === 'permit2') return 'permit2';
  if (m === 'eip2612') return 'eip2612';
  return undefined;
}

/** EIP-712 domain of the offer's token, from `extra.name` / `extra.version` (as x402 carries them). */
export function domainOf(
  req: PaymentRequirements,
): { name: string; version: string; chainId: number; verifyingContract: Address } | undefined {
  const chainId = evmChainId(req.network);
  const { name, version } = req.extra;
  if (
    chainId === undefined ||
    typeof name !== 'string' ||
    typeof version !== 'string' ||
    !isAddress(req.asset, { strict: false })
  )
    return undefined;
  return { name, version, chainId, verifyingContract: getAddress(req.asset) };
}

/** Same address, any checksum casing. */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
