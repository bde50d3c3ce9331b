import { getAddress, type Address } from 'viem';
import type { CaipNetwork, PaymentRequirements, PriceOffer } from '../../src/index';
import { sameAddress } from './requirements';

/** A token the server takes, with its EIP-712 domain. */
export type EvmTokenConfig = { address: Address; name: string; version: string; decimals?: number };

/** The offer common to both EVM methods: asset, payee, amount and the token domain in `extra`. */
export function baseRequirements(
  network: CaipNetwork,
  token: EvmTokenConfig,
  payTo: Address,
  offer: PriceOffer,
  extra: Record<string, unknown>,
): PaymentRequirements {
  return {
    scheme: 'exact',
    network,
    amount: BigInt(offer.amount).toString(),
    asset: getAddress(token.address),
    payTo: getAddress(offer.payTo ?? payTo),
    maxTimeoutSeconds: offer.maxTimeoutSeconds ?? 300,
    extra: { name: token.name, version: token.version, ...extra, ...offer.extra },
  };
}

/** Checks every payment must pass on both methods; returns the first failure. */
export function checkCommon(
  req: PaymentRequirements,
  network: string,
  token: EvmTokenConfig,
  transfer: { to: string; value: string },
): { reason: string; message: string } | undefined {
  if (req.network !== network) return { reason: 'network_mismatch', message: `This server settles on ${network}, not ${req.network}.` };
  if (!sameAddress(req.asset, token.address)) return { reason: 'asset_mismatch', message: 'The offer names another token.' };
  if (!sameAddress(transfer.to, req.payTo)) return { reason: 'payee_mismatch', message: 'The payment goes to another address than payTo.' };
  if (transfer.value !== req.amount) return { reason: 'amount_mismatch', message: `The payment is for ${transfer.value}, the price is ${req.amount}.` };
  return undefined;
}
