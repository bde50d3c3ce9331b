import { ConfigurationError } from '../core/errors';

const charges = new WeakMap<Request, string>();

/**
 * Reports what a paid request actually used, in atomic units of the offer's asset, for rails that authorize a
 * maximum and settle the actual amount after serving (x402 `upto`). Call it from the route handler with the
 * Request it was given; the settlement then moves this amount (0: no transaction), never more than the offer's
 * amount (a larger report fails the settlement with `invalid_upto_evm_payload_settlement_exceeds_amount`).
 * Without a report such a rail settles the whole amount. Rails that settle a fixed price ignore it.
 *
 * @example
 * pw.wrap(async (request) => { const used = await work(); reportCharge(request, used * PRICE_PER_UNIT); return Response.json(out); })
 */
export function reportCharge(request: Request, amount: bigint | string): void {
  const text = typeof amount === 'bigint' ? amount.toString() : amount;
  if (!/^(0|[1-9][0-9]{0,77})$/.test(text))
    throw new ConfigurationError(
      `reportCharge takes atomic units as a non-negative integer, not ${JSON.stringify(text.slice(0, 40))}.`,
    );
  charges.set(request, text);
}

/** The charge the handler reported for `request` with {@link reportCharge}, if any. */
export function reportedCharge(request: Request): string | undefined {
  return charges.get(request);
}
