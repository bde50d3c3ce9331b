import { getAddress, type Address } from 'viem';
import type { z } from 'zod';
import { PaymentInvalidError, type CaipNetwork, type PaymentRequirements, type PriceOffer } from '../../src/index';
import type { EvmSettler } from './chain';
import { sameAddress } from './requirements';

/** Parameters shared by both EVM server rails. */
export type EvmServerParameters = EvmSettler & {
  /** Chain id the token lives on. */
  chainId: number;
  /** The token and its EIP-712 domain. */
  token: EvmTokenConfig;
  /** Default payee when an offer names none (EIP-2612: the only payee, see `evmEip2612Server`). */
  payTo: Address;
  /**
   * Check once, before the first verify or settle, that `token.name`/`version` are the token's EIP-712 domain on
   * chain (`assertEvmTokenDomain`; default true). Turn off only for a chain you cannot read at all.
   */
  checkTokenDomain?: boolean;
  /**
   * How long, seconds, a payment must still be valid when it verifies: the handler runs and the settlement is mined
   * within that time, or the token refuses it as expired after the service was given (default 30, never more than
   * half the offer's `maxTimeoutSeconds`, which honest clients sign for, and never less than 6).
   */
  settleWindowSeconds?: number;
};

/**
 * The validity a payment must have left at verify (see {@link EvmServerParameters.settleWindowSeconds}): at least
 * 6 s (about three blocks), at most half the offer's `maxTimeoutSeconds`.
 *
 * @example requiredValiditySeconds(req, 30); // 30n for maxTimeoutSeconds 300, 6n for maxTimeoutSeconds 10
 */
export function requiredValiditySeconds(req: PaymentRequirements, settleWindowSeconds: number | undefined): bigint {
  const wanted = Math.min(settleWindowSeconds ?? 30, Math.floor(req.maxTimeoutSeconds / 2));
  return BigInt(Math.max(6, wanted));
}

/** Parses a rail payload with `schema`; a malformed one is a `PaymentInvalidError('invalid_payload')`. */
export function parsePayload<S extends z.ZodType>(
  schema: S,
  payload: Record<string, unknown>,
  label: string,
): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PaymentInvalidError(
      'invalid_payload',
      `The ${label} payload is malformed: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}

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
  if (req.network !== network)
    return { reason: 'network_mismatch', message: `This server settles on ${network}, not ${req.network}.` };
  if (!sameAddress(req.asset, token.address))
    return { reason: 'asset_mismatch', message: 'The offer names another token.' };
  // The signature is checked over the offer's domain (extra.name/version) but the token checks it over its own: a
  // payment signed for another domain would verify here and revert at settlement.
  if (req.extra.name !== token.name || req.extra.version !== token.version) {
    return {
      reason: 'domain_mismatch',
      message: `The offer names the EIP-712 domain {name: ${shown(req.extra.name)}, version: ${shown(req.extra.version)}}; the token's is {name: ${JSON.stringify(token.name)}, version: ${JSON.stringify(token.version)}}.`,
    };
  }
  if (!sameAddress(transfer.to, req.payTo))
    return { reason: 'payee_mismatch', message: 'The payment goes to another address than payTo.' };
  if (transfer.value !== req.amount)
    return { reason: 'amount_mismatch', message: `The payment is for ${transfer.value}, the price is ${req.amount}.` };
  return undefined;
}

/** A wire value for a message: a string (cut to 64 characters) as JSON, anything else as its type. */
function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
}
