import type { ServerRail } from '../core/rail';
import { matchPayment } from './matchPayment';
import type { FacilitatorRequest, VerifyResponse } from './wire';

/**
 * `POST /verify`: checks the payment with its rail, moving no money. A bad payment is an answer
 * (`isValid: false` with a reason), never an error; rail outages throw `RailUnavailableError`.
 *
 * @example
 * await verifyPayment(rails, body, Date.now()); // { isValid: true, payer: '0x…' }
 */
export async function verifyPayment(
  rails: readonly ServerRail[],
  body: FacilitatorRequest,
  now: number,
): Promise<VerifyResponse> {
  const matched = matchPayment(rails, body, now);
  if ('reason' in matched) return { isValid: false, invalidReason: matched.reason, invalidMessage: matched.message };
  const result = await matched.rail.verify(matched.payload, matched.requirements, matched.ctx);
  if (result.isValid) return { isValid: true, payer: result.payer };
  return {
    isValid: false,
    invalidReason: result.reason,
    invalidMessage: result.message,
    ...(result.payer !== undefined ? { payer: result.payer } : {}),
  };
}
