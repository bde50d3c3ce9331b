import { PaymentDeferredError, SettlementPendingError } from '../core/errors';
import { allowsReuse, canFindSettlement, type PaymentContext } from '../core/rail';
import type { ClaimResult } from '../stores/paymentStore';
import { keepClaim, type ClaimLease } from './claimLease';
import { withReceipt } from './issueReceipt';
import type { PaymentRefusal } from './extensions';
import {
  claimLost,
  notifySettlement,
  protocolOf,
  reject,
  subjectOf,
  type MatchedPayment,
  type PaidRequest,
  type PaymentFlowDeps,
  type SettlementSubject,
} from './paymentFlow';
import { recordSettlement } from './recordSettlement';
import { reportedCharge } from './reportCharge';
import { deliver, serveSettled } from './serveSettled';
import { encodeSettlementIntent } from './settlementIntent';
import { paymentReasons } from '../protocol/reasons';

/** A claim this attempt holds (see {@link PaymentStore.claim}). */
export type HeldClaim = Extract<ClaimResult, { claimed: true }>;

/**
 * How far a claimed attempt got, which decides what a failure does: before admission nothing is reported;
 * once admitted by the extensions a failure is reported `abandoned`; once settling, `error` (and a pending
 * settlement is recorded for reconciliation).
 */
type AttemptStage = 'verifying' | 'admitted' | 'settling';

/**
 * Verification reasons that say the chain already spent this very payment (EVM: its nonce was used; Solana: its
 * transaction landed). On a fresh claim they mean the store lost the record: the rail is asked for the settlement.
 */
const SPENT_REASONS: ReadonlySet<string> = new Set([paymentReasons.NONCE_USED, paymentReasons.ALREADY_SETTLED]);

/** A claimed attempt's state, carried through its stages. */
type Attempt = {
  stage: AttemptStage;
  /** Which payment the extensions are told about: payer and amount known once verified. */
  subject: SettlementSubject;
  /** What the handler reported it used (`reportCharge`), for rails that settle the actual amount (upto). */
  charge?: string;
};

/**
 * The attempt that holds the payment's claim: (after a takeover, first a look for a settlement the dead attempt
 * left) verify → extensions admit → handler → settle only when the handler answered below 400 → receipt. The
 * claim is renewed while the attempt runs, and an attempt that lost it delivers nothing and never settles.
 * A fresh claim the chain says is already spent first looks for the settlement the store lost. Refusals free the claim (a taken-over one is handed on, not freed); a settlement refused after the handler
 * ran is recorded `failed` for good; a broadcast is recorded `pending` (with its settlement intent) before
 * confirmation.
 */
export async function settlePaidRequest(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  requestKey: string,
  claim: HeldClaim,
): Promise<Response> {
  const { owner } = claim;
  const lease = keepClaim({
    store: deps.store,
    paymentId: matched.paymentId,
    owner,
    leaseMs: deps.settleLeaseMs,
    now: deps.now,
  });
  const attempt: Attempt = {
    stage: 'verifying',
    subject: subjectOf(paid, matched, { payer: '', amount: matched.accepted.amount }),
  };
  // Encoded only when a settlement goes pending: most payments never need it.
  let encodedIntent: string | undefined;
  const intent = () =>
    (encodedIntent ??= encodeSettlementIntent({
      route: paid.route.key,
      rail: matched.rail.id,
      accepted: matched.accepted,
      payload: matched.payload,
      binding: paid.binding,
      challengeId: matched.challengeId,
      ...(attempt.charge !== undefined ? { charge: attempt.charge } : {}),
    }));
  const markPending = (reference: string) => {
    // A pending record is not taken over: stop renewing (a renewal would find the claim gone and call it lost).
    lease.stop();
    return deps.store.markPending(matched.paymentId, matched.rail.id, reference, intent());
  };
  try {
    if (claim.takeover) {
      const found = await findLeftSettlement(paid, deps, matched, requestKey, claim, lease);
      if (found) return found;
    }
    const ctx: PaymentContext = {
      request: paid.binding,
      now: deps.now(),
      paymentId: matched.paymentId,
      onBroadcast: markPending,
    };
    const verification = await matched.rail.verify(matched.payload, matched.accepted, ctx);
    if (!verification.isValid && !claim.takeover && SPENT_REASONS.has(verification.reason)) {
      const lost = await recoverLostSettlement(paid, deps, matched, owner, lease, verification);
      if (lost) return lost;
    }
    if (!verification.isValid) {
      // A claim taken over from a dead attempt is not freed but left for the next claimer to take over at once:
      // that attempt may have paid (its payer's own retry then finds the settlement); freeing it would make the
      // payment look never taken, and a spent one refused for good.
      if (claim.takeover) await deps.store.expireClaim(matched.paymentId, owner);
      else await deps.store.release(matched.paymentId, 'in_flight', owner);
      return reject(paid, deps, verification.reason, verification.message);
    }
    attempt.subject = subjectOf(paid, matched, { payer: verification.payer, amount: verification.amount });
    const refusal = await admitVerified(paid, deps, matched, attempt.subject);
    attempt.stage = 'admitted';
    if (refusal) {
      await deps.store.release(matched.paymentId, 'in_flight', owner);
      await notifySettlement(deps, attempt.subject, { outcome: 'abandoned', reason: refusal.reason });
      if (refusal.status === 503) throw new PaymentDeferredError(refusal.reason, refusal.message, refusal.code);
      return reject(paid, deps, refusal.reason, refusal.message);
    }
    const response = await paid.handler(paid.request);
    if (response.status >= 400) {
      await deps.store.release(matched.paymentId, 'in_flight', owner);
      await notifySettlement(deps, attempt.subject, {
        outcome: 'abandoned',
        reason: `handler answered ${response.status}`,
      });
      return response;
    }
    if (!(await lease.confirm())) {
      // Another attempt holds the payment now: settling here would settle behind its back, delivering would
      // serve one payment twice.
      await response.body?.cancel();
      await notifySettlement(deps, attempt.subject, { outcome: 'abandoned', reason: paymentReasons.CLAIM_LOST });
      return claimLost(paid, deps, undefined);
    }
    attempt.stage = 'settling';
    deps.settling.add(matched.paymentId);
    attempt.charge = reportedCharge(paid.request);
    const settlement = await matched.rail.settle(
      matched.payload,
      matched.accepted,
      attempt.charge !== undefined ? { ...ctx, charge: attempt.charge } : ctx,
    );
    if (settlement.status === 'settled') {
      const { receipt, first } = await recordSettlement(
        deps,
        attempt.subject,
        matched.challengeId,
        settlement,
        protocolOf(paid.source),
      );
      // Not first: another instance found this broadcast pending, recorded its settlement and served the request
      // (reconcilePending) while this one confirmed it; delivering here too would serve one payment twice.
      if (lease.lost || !first) {
        await response.body?.cancel();
        return claimLost(paid, deps, receipt);
      }
      return deliver(paid, deps, matched, response, receipt, false);
    }
    await response.body?.cancel();
    if (settlement.status === 'pending') {
      // Recorded and notified once, below (as a rail that throws SettlementPendingError is).
      throw new SettlementPendingError(
        settlement.reference,
        `${settlement.message} Retry the same request with the same payment to get the receipt.`,
      );
    }
    // Refused after the handler ran: no money moved, and this payment is never served again (a payload that
    // verifies but cannot settle would otherwise buy unlimited handler runs).
    await deps.store.fail(matched.paymentId, settlement.reason);
    await notifySettlement(deps, attempt.subject, { outcome: 'failed', reason: settlement.reason });
    return reject(paid, deps, settlement.reason, settlement.message);
  } catch (error) {
    if (error instanceof SettlementPendingError) {
      if (attempt.stage !== 'settling') throw error;
      await markPending(error.reference);
      await notifySettlement(deps, attempt.subject, { outcome: 'pending', reason: error.message });
      throw error;
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (attempt.stage === 'settling') await notifySettlement(deps, attempt.subject, { outcome: 'error', reason });
    else if (attempt.stage === 'admitted')
      await notifySettlement(deps, attempt.subject, { outcome: 'abandoned', reason });
    // Adapters throw only when nothing was broadcast, so the claim can be freed (a broadcast already on
    // record as pending stays for reconciliation; a claim another attempt holds now is not ours to free).
    await deps.store.release(matched.paymentId, 'in_flight', owner);
    throw error;
  } finally {
    lease.stop();
    deps.settling.delete(matched.paymentId);
  }
}

/**
 * A claim taken over from an attempt that died before its settlement intent was written: asks the rail whether
 * that attempt's payment already landed. Found for the dead attempt's own request (or a reusable credential):
 * serve it with its receipt. Found for another request: refuse it and hand the claim back to the dead attempt's
 * request, whose retry is served. Not found (or the rail cannot look): undefined, the attempt goes on.
 */
async function findLeftSettlement(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  requestKey: string,
  claim: HeldClaim,
  lease: ClaimLease,
): Promise<Response | undefined> {
  if (!canFindSettlement(matched.rail)) return undefined;
  const found = await matched.rail.findSettlement(matched.payload, matched.accepted);
  if (!found) return undefined;
  if (!allowsReuse(matched.rail) && claim.takenFrom !== undefined && claim.takenFrom !== requestKey) {
    // The dead attempt's request paid: its own retry takes the claim over again, finds this settlement and
    // is served with its receipt. Another request presenting the payment is not (one payment, one service).
    await deps.store.expireClaim(matched.paymentId, claim.owner, claim.takenFrom);
    return reject(
      paid,
      deps,
      paymentReasons.PAYMENT_ALREADY_USED,
      'This payment was already used for another request. Pay a fresh challenge.',
    );
  }
  return serveSettled(paid, deps, matched, { status: 'settled', ...found }, lease);
}

/**
 * A fresh claim on a payment the chain already spent: the store has no record of it. Either the payment was
 * settled where this store never knew it (spent at another shop, or by the payer directly), or the store lost the
 * record (a Redis primary failed over before its replica had it; a wiped store). The rail is asked for the
 * settlement: a payment this payer signed for this offer that landed gets its receipt recorded (without a request,
 * so it is never served again: one payment, one service, even when the store forgot it served it) and attached to
 * the refusal, so the receipt of money that moved is never lost. Undefined when the rail finds nothing.
 */
async function recoverLostSettlement(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  owner: string,
  lease: ClaimLease,
  refusal: { reason: string; message: string },
): Promise<Response | undefined> {
  if (!canFindSettlement(matched.rail)) return undefined;
  const found = await matched.rail.findSettlement(matched.payload, matched.accepted);
  if (!found) return undefined;
  lease.stop();
  // Freed first, so the record settles with no request key: no request is ever served on it (nor replayed).
  await deps.store.release(matched.paymentId, 'in_flight', owner);
  const { receipt } = await recordSettlement(
    deps,
    subjectOf(paid, matched, { payer: found.payer, amount: found.amount }),
    matched.challengeId,
    { status: 'settled', ...found },
    protocolOf(paid.source),
  );
  return withReceipt(await reject(paid, deps, refusal.reason, refusal.message), receipt);
}

/** Asks each extension whether a verified payment may go on; the first refusal wins. */
async function admitVerified(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  subject: SettlementSubject,
): Promise<PaymentRefusal | undefined> {
  for (const extension of deps.extensions) {
    if (!extension.afterVerify) continue;
    const refusal = await extension.afterVerify({
      request: paid.request,
      route: paid.route,
      binding: paid.binding,
      now: deps.now(),
      paymentId: subject.paymentId,
      rail: subject.rail,
      accepted: subject.accepted,
      payload: matched.payload,
      payer: subject.payer,
      amount: subject.amount,
    });
    if (refusal) return refusal;
  }
  return undefined;
}
