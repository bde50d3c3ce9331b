import { hashCanonical } from '../core/canonical';
import { PaymentInvalidError } from '../core/errors';
import { foldPayloadExtensions, type PaymentContext, type RailPayload, type ServerRail } from '../core/rail';
import type { PaymentRequirements } from '../protocol/schemas';
import type { FacilitatorRequest } from './wire';

/** A request matched to the rail that takes it, keyed by the rail's payment id. */
export type MatchedPayment = {
  rail: ServerRail;
  requirements: PaymentRequirements;
  payload: RailPayload;
  /** `<rail id>:<rail payment id>`: the store key; one chain-level payment, one settlement. */
  paymentId: string;
  /** Hash of what this request asks (payload + requirements): a payment id reused for other terms is refused. */
  requestKey: string;
  ctx: PaymentContext;
};

/** Why a request cannot be handled by any rail, as an x402 reason code. */
export type Mismatch = { reason: string; message: string };

/**
 * Finds the rail for a `/verify` or `/settle` request: the echoed offer must name the same scheme, network,
 * amount, asset and payee as `paymentRequirements`, and a rail must support the requirements. Computes the
 * payment id (a malformed payload is a mismatch, not an error).
 *
 * @example
 * const m = matchPayment(rails, body, Date.now());
 * if ('reason' in m) return { isValid: false, invalidReason: m.reason };
 */
export function matchPayment(
  rails: readonly ServerRail[],
  body: FacilitatorRequest,
  now: number,
): MatchedPayment | Mismatch {
  const req = body.paymentRequirements;
  const accepted = body.paymentPayload.accepted;
  if (accepted.scheme !== req.scheme)
    return {
      reason: 'scheme_mismatch',
      message: `The payment is for scheme "${accepted.scheme}", the requirements ask "${req.scheme}".`,
    };
  if (accepted.network !== req.network)
    return {
      reason: 'network_mismatch',
      message: `The payment is for ${accepted.network}, the requirements ask ${req.network}.`,
    };
  // x402 `upto`: the payment authorizes `accepted.amount` at most; a /settle's requirements carry the actual charge
  // in `amount` (the rail settles it, refusing one above the maximum).
  const charge = req.scheme === 'upto' && accepted.amount !== req.amount ? req.amount : undefined;
  if (
    (accepted.amount !== req.amount && charge === undefined) ||
    !sameText(accepted.asset, req.asset) ||
    !sameText(accepted.payTo, req.payTo)
  ) {
    return {
      reason: 'accepted_mismatch',
      message: 'The payment echoes another amount, asset or payee than the requirements.',
    };
  }
  const requirements = charge === undefined ? req : { ...req, amount: accepted.amount };
  const rail = rails.find((r) => r.supports(requirements));
  if (!rail) {
    return {
      reason: 'unsupported_scheme',
      message: `This facilitator settles no "${req.scheme}" payments of asset ${req.asset} on ${req.network}; see GET /supported.`,
    };
  }
  const payload = foldPayloadExtensions(rail, body.paymentPayload.payload, body.paymentPayload.extensions);
  let id: string;
  try {
    id = rail.paymentId(payload, requirements);
  } catch (error) {
    if (error instanceof PaymentInvalidError) return { reason: error.reason, message: error.message };
    throw error;
  }
  const paymentId = `${rail.id}:${id}`;
  const ctx: PaymentContext = {
    request: {
      method: 'POST',
      url: body.paymentPayload.resource?.url ?? 'urn:x402-rails:facilitator',
      bodyHash: hashCanonical(body.paymentPayload),
    },
    now,
    paymentId,
    ...(charge !== undefined ? { charge } : {}),
  };
  return { rail, requirements, payload, paymentId, requestKey: hashCanonical({ payload, req }), ctx };
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
