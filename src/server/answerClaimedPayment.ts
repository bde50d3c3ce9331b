import { SettlementPendingError } from '../core/errors';
import { allowsReuse } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { PaymentRecord } from '../stores/paymentStore';
import {
  notifySettlement,
  reject,
  subjectOf,
  type MatchedPayment,
  type PaidRequest,
  type PaymentFlowDeps,
} from './paymentFlow';
import { serveAgain, serveReplay, serveSettled } from './serveSettled';
import { consumedOnce, consumesOnce } from './consumeOnce';
import { paymentReasons } from '../protocol/reasons';

const WAIT_STEP_MS = 20;

/** The claim is free again (released, or its holder died): the caller runs the flow afresh and claims it. */
export const CLAIM_AGAIN = 'claim_again';

/**
 * The answer to a payment another attempt has already claimed, from its record: wait while that attempt (for
 * this same request) still runs, then serve its receipt as a bounded replay, re-check a reusable credential,
 * settle a pending broadcast nobody is confirming, or refuse (failed, used for another request, in progress).
 * Answers {@link CLAIM_AGAIN} when the claim was freed or its holder died, so the caller claims it itself.
 */
export async function answerClaimedPayment(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  requestKey: string,
  record: PaymentRecord,
): Promise<Response | typeof CLAIM_AGAIN> {
  // A consume-once credential (MPP Lightning charge) is refused on any second presentation, at once (concurrent
  // presentations: one success, the rest refused), unless its first attempt failed or died without settling.
  const dead = record.state === 'in_flight' && record.leaseUntil <= deps.now();
  if (consumesOnce(paid, matched.rail) && record.state !== 'failed' && !dead) {
    return reject(
      paid,
      deps,
      paymentReasons.CHALLENGE_CONSUMED,
      'This Payment credential was already used: a Lightning charge credential is accepted once. Pay a fresh challenge.',
    );
  }
  let current: PaymentRecord | undefined = record;
  const deadline = deps.now() + deps.settleLeaseMs;
  // Wait while another attempt for this same request holds the claim, or while this process is still confirming
  // the broadcast. Another request is refused at once (no honest client spends one payment on two requests),
  // unless the credential is reusable (L402): then it waits for the settlement and is re-checked.
  const mine = (r: PaymentRecord) => r.requestKey === requestKey || allowsReuse(matched.rail);
  const busy = (r: PaymentRecord | undefined) =>
    r !== undefined &&
    mine(r) &&
    ((r.state === 'in_flight' && r.leaseUntil > deps.now()) ||
      (r.state === 'pending' && deps.settling.has(matched.paymentId)));
  while (busy(current) && deps.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    current = await deps.store.get(matched.paymentId);
  }
  if (current === undefined || (current.state === 'in_flight' && current.leaseUntil <= deps.now())) {
    // The first attempt failed and released the claim, or died holding it (its lease ran out): run the flow
    // afresh; its claim takes the dead one over and first looks for a settlement that landed.
    return CLAIM_AGAIN;
  }
  if (current.state === 'failed') {
    return reject(
      paid,
      deps,
      paymentReasons.PAYMENT_FAILED,
      'The settlement of this payment failed after it was served once; it is not served again. Pay a fresh challenge.',
    );
  }
  // A payment first settled for a consume-once MPP credential buys nothing more through any protocol (L402 reuse,
  // an identical-request replay): its preimage is a bearer secret.
  if (current.state === 'settled' && consumedOnce(current.receipt, matched.rail)) {
    return reject(
      paid,
      deps,
      paymentReasons.CHALLENGE_CONSUMED,
      'This payment was made for a Payment credential, which is accepted once. Pay a fresh challenge.',
    );
  }
  // A reusable credential (L402) is re-checked on every use, the identical request included: its caveats
  // (expiry) may have lapsed since it was settled.
  if (current.state === 'settled' && allowsReuse(matched.rail)) return serveReuse(paid, deps, matched, current.receipt);
  if (current.requestKey !== requestKey) {
    return reject(
      paid,
      deps,
      paymentReasons.PAYMENT_ALREADY_USED,
      'This payment was already used for another request. Pay a fresh challenge.',
    );
  }
  if (current.state === 'settled') return serveReplay(paid, deps, matched, requestKey, current.receipt);
  if (current.state === 'pending' && !deps.settling.has(matched.paymentId))
    return reconcilePending(paid, deps, matched, current.reference);
  return reject(
    paid,
    deps,
    paymentReasons.PAYMENT_IN_PROGRESS,
    'This payment is still being settled by another request. Retry shortly.',
  );
}

/**
 * A retry of a payment whose settlement was left pending: ask the rail again (settle is idempotent per
 * payment, so it finds the earlier broadcast instead of paying twice) and answer with the receipt once it
 * has landed.
 */
async function reconcilePending(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  reference: string,
): Promise<Response> {
  const ctx = { request: paid.binding, now: deps.now(), paymentId: matched.paymentId, reference };
  const settlement = await matched.rail.settle(matched.payload, matched.accepted, ctx);
  if (settlement.status === 'pending') {
    throw new SettlementPendingError(
      settlement.reference,
      'The settlement of this payment is still being confirmed. Retry the same request later.',
    );
  }
  if (settlement.status === 'failed') {
    // Its handler ran on the first attempt: the payment is not served again.
    await deps.store.fail(matched.paymentId, settlement.reason);
    await notifySettlement(deps, subjectOf(paid, matched, { payer: '', amount: matched.accepted.amount }), {
      outcome: 'failed',
      reason: settlement.reason,
    });
    return reject(paid, deps, settlement.reason, settlement.message);
  }
  return serveSettled(paid, deps, matched, settlement);
}

/** A reusable credential (L402) presented again: re-check it (caveats, expiry) and serve with the original receipt. */
async function serveReuse(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  receipt: SignedReceipt,
): Promise<Response> {
  const verification = await matched.rail.verify(matched.payload, matched.accepted, {
    request: paid.binding,
    now: deps.now(),
    paymentId: matched.paymentId,
  });
  if (!verification.isValid) return reject(paid, deps, verification.reason, verification.message);
  return serveAgain(paid, deps, matched, receipt);
}
