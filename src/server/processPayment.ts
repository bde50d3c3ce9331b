import { hashCanonical } from '../core/canonical';
import { answerClaimedPayment, CLAIM_AGAIN } from './answerClaimedPayment';
import { matchPayment } from './matchPayment';
import { reject, type PaidRequest, type PaymentFlowDeps } from './paymentFlow';
import { settlePaidRequest } from './settlePaidRequest';

export type { PaidRequest, PaymentFlowDeps, PaymentSource, SettledResult, SettlementSubject } from './paymentFlow';

/**
 * The paid path: decode → match the echoed offer → claim the payment id → verify → handler → settle only
 * when the handler answered below 400 → receipt. A payment settles at most once; a retry of the same paid
 * request gets the stored receipt; the same payment for another request is refused.
 *
 * It runs in three stages, one file each: this one matches the payment ({@link matchPayment}) and claims it;
 * the attempt that holds the claim runs {@link settlePaidRequest}; any other gets {@link answerClaimedPayment}
 * (which may hand back {@link CLAIM_AGAIN} when the claim came free, and the flow starts over).
 *
 * One payment, one service: the claim is renewed while the attempt runs (a slow handler never lets another
 * request take the payment over), and an attempt that lost its claim anyway delivers nothing and never settles
 * (409 `claim_lost`). A settlement refused after the handler ran is recorded `failed` for good: the payment is
 * never served again (402 `payment_failed`). The identical request is served again only as a bounded replay
 * (a lost answer): within `replay.windowMs` of the settlement, at most `replay.max` times, counted in the store,
 * with the extensions' `beforeReplay` hooks run first; past that it gets 409 with the receipt and no service.
 *
 * Crash safety: the moment a rail broadcasts, the settlement intent (payload, offer, request binding) is
 * written to the store as `pending`, before confirmation; a restarted server settles it with
 * {@link reconcilePayments} or on the client's retry. A claim taken over from an attempt that died before its
 * intent was written first asks the rail whether the payment already landed (`findSettlement`).
 */
export async function processPayment(paid: PaidRequest, deps: PaymentFlowDeps): Promise<Response> {
  for (;;) {
    const matched = await matchPayment(paid, deps);
    if ('reason' in matched) return reject(paid, deps, matched.reason, matched.message);

    const requestKey = hashCanonical(paid.binding);
    const claim = await deps.store.claim(matched.paymentId, requestKey, deps.settleLeaseMs);
    if (claim.claimed) return settlePaidRequest(paid, deps, matched, requestKey, claim);
    const answer = await answerClaimedPayment(paid, deps, matched, requestKey, claim.record);
    if (answer !== CLAIM_AGAIN) return answer;
  }
}
