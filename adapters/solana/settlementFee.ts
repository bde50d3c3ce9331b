import { LAMPORTS_PER_SIGNATURE } from './constants';

/** What {@link settlementFeeLamports} needs: the message's signature count and its compute budget. */
export type SettlementFeeParameters = {
  /** `message.header.numRequiredSignatures`. */
  signatures: number;
  /** Compute-unit limit the transaction sets. */
  computeUnitLimit: number;
  /** Compute-unit price, micro-lamports per unit. */
  computeUnitPrice: bigint;
};

/**
 * Lamports the fee payer is charged for a transaction, as a cluster computes it: 5,000 per signature plus the
 * priority fee `ceil(limit × price / 1e6)`. Charged whether or not the transaction succeeds.
 *
 * @example settlementFeeLamports({ signatures: 2, computeUnitLimit: 20_000, computeUnitPrice: 1n }); // 10_001n
 */
export function settlementFeeLamports(p: SettlementFeeParameters): bigint {
  const priority = (p.computeUnitPrice * BigInt(p.computeUnitLimit) + 999_999n) / 1_000_000n;
  return LAMPORTS_PER_SIGNATURE * BigInt(p.signatures) + priority;
}
