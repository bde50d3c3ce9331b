import { PaymentInvalidError } from '../core/errors';
import { foldPayloadExtensions, type RailPayload, type ServerRail } from '../core/rail';
import { decodePaymentSignatureHeader } from '../protocol/headers';
import type { PaymentRequirements } from '../protocol/schemas';
import { openChallenge } from './challenge';
import { openMppCredential } from './mppChallenges';
import type { MatchedPayment, PaidRequest, PaymentFlowDeps, Rejection } from './paymentFlow';
import { paymentReasons } from '../protocol/reasons';

/**
 * Decodes the payment in whichever protocol it came (x402 PAYMENT-SIGNATURE, a rail's Authorization scheme,
 * MPP `Payment`), checks it answers a challenge we sealed for this request, finds the route's rail that takes
 * it, and keys it by a payment id the payer cannot vary. A refusal is a {@link Rejection}, not a throw.
 */
export async function matchPayment(paid: PaidRequest, deps: PaymentFlowDeps): Promise<MatchedPayment | Rejection> {
  if (paid.source.kind === 'mpp') {
    const rails = paid.route.config.accepts.flatMap((o) => deps.railsById.get(o.rail) ?? []);
    const opened = openMppCredential({
      header: paid.source.header,
      secret: deps.secret,
      binding: paid.binding,
      rails,
      now: deps.now(),
    });
    if ('reason' in opened) return opened;
    return keyPayment(opened.rail, opened.accepted, opened.payload, opened.challengeId);
  }
  if (paid.source.kind === 'authorization') {
    const rail = paid.source.rail;
    const read = await rail.readAuthorization(paid.source.header, { request: paid.binding, now: deps.now() });
    if ('reason' in read) return read;
    return keyPayment(rail, read.accepted, read.payload, read.challengeId);
  }
  const payment = decodePaymentSignatureHeader(paid.source.header);
  const opened = openChallenge(deps.secret, payment.accepted, paid.binding, deps.now());
  if (!opened.ok) return opened;
  const rail = paid.route.config.accepts
    .map((o) => deps.railsById.get(o.rail))
    .find((r) => r?.supports(payment.accepted));
  if (!rail)
    return { reason: paymentReasons.UNSUPPORTED_OFFER, message: 'No rail of this route takes the echoed offer.' };
  return keyPayment(
    rail,
    payment.accepted,
    foldPayloadExtensions(rail, payment.payload, payment.extensions),
    opened.challengeId,
  );
}

function keyPayment(
  rail: ServerRail,
  accepted: PaymentRequirements,
  payload: RailPayload,
  challengeId: string,
): MatchedPayment | Rejection {
  try {
    return { rail, accepted, payload, paymentId: `${rail.id}:${rail.paymentId(payload, accepted)}`, challengeId };
  } catch (error) {
    if (error instanceof PaymentInvalidError) return { reason: error.reason, message: error.message };
    throw error;
  }
}
