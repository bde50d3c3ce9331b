import { hashCanonical } from '../core/canonical';
import { PaymentConflictError } from '../core/errors';
import { speaksMppServer } from '../core/mppRail';
import type { SignedReceipt } from '../core/receipt/receipt';
import { buildChallenge } from './buildChallenge';
import type { ClaimLease } from './claimLease';
import { withReceipt } from './issueReceipt';
import { withMppReceipt } from './mppReceipt';
import {
  protocolOf,
  subjectOf,
  type MatchedPayment,
  type PaidRequest,
  type PaymentFlowDeps,
  type SettledResult,
} from './paymentFlow';
import { recordSettlement } from './recordSettlement';
import { errorResponse } from './responses';

/*
 * Serving a request whose payment has settled: the first time (with its new receipt), again as a bounded replay
 * of a lost answer, or again for a reusable credential. Every paid response leaves through deliver().
 */

/**
 * Records a payment found settled and serves the request once. When another attempt recorded it first (two
 * retries of a pending payment at once), this serving is a replay and counts against the replay bound.
 */
export async function serveSettled(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  settlement: SettledResult,
  lease?: ClaimLease,
): Promise<Response> {
  const subject = subjectOf(paid, matched, { payer: settlement.payer, amount: settlement.amount });
  const { receipt, first } = await recordSettlement(
    deps,
    subject,
    matched.challengeId,
    settlement,
    protocolOf(paid.source),
  );
  lease?.stop();
  if (!first) return serveReplay(paid, deps, matched, hashCanonical(paid.binding), receipt);
  const response = await paid.handler(paid.request);
  return response.status >= 400 ? response : deliver(paid, deps, matched, response, receipt, false);
}

/**
 * The identical request presented again with a settled payment: a resend after a lost answer. Served only as
 * the store admits it (within the replay window, at most `replay.max` times across every process); each
 * extension's `beforeReplay` runs first and may refuse it or serve it on its own terms (metering draws on the
 * deposit's session). Past the bound: 409 with the receipt on record and no service.
 */
export async function serveReplay(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  requestKey: string,
  receipt: SignedReceipt,
): Promise<Response> {
  const admission = await deps.store.replay(matched.paymentId, requestKey, deps.replay);
  if (!admission.admitted) {
    const error = new PaymentConflictError(
      admission.reason,
      'This payment was settled and its request already served; it is not served again (its receipt is attached). Pay a fresh challenge for another answer.',
    );
    deps.emit({ type: 'rejected', route: paid.route.key, reason: error.reason, status: error.status });
    return withReceipt(errorResponse(error), receipt);
  }
  return serveAgain(paid, deps, matched, receipt);
}

/** Serves a settled payment again (an admitted replay, a reusable credential): `beforeReplay` hooks first, then the handler. */
export async function serveAgain(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  receipt: SignedReceipt,
): Promise<Response> {
  deps.emit({ type: 'replayed', route: paid.route.key, paymentId: matched.paymentId });
  const serve = async () => paid.handler(paid.request);
  const challenge = async (rejection?: { reason: string; message: string }) =>
    (await buildChallenge(paid.route, paid.binding, deps, rejection, paid.request.headers.get('Accept-Payment')))
      .response;
  let response: Response | undefined;
  for (const extension of deps.extensions) {
    if (!extension.beforeReplay) continue;
    response = await extension.beforeReplay({
      request: paid.request,
      route: paid.route,
      binding: paid.binding,
      now: deps.now(),
      serve,
      challenge,
      paymentId: matched.paymentId,
      receipt,
    });
    if (response) break;
  }
  response ??= await serve();
  return response.status >= 400 ? response : deliver(paid, deps, matched, response, receipt, true);
}

/** Attaches the receipt, then lets each extension decorate the paid response. */
export async function deliver(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  response: Response,
  receipt: SignedReceipt,
  replayed: boolean,
): Promise<Response> {
  let out = withReceipt(response, receipt);
  if (paid.source.kind === 'mpp' && speaksMppServer(matched.rail))
    out = withMppReceipt(out, receipt, matched.rail.mpp.method);
  for (const extension of deps.extensions) {
    if (extension.afterPaid)
      out = await extension.afterPaid({
        request: paid.request,
        route: paid.route,
        binding: paid.binding,
        now: deps.now(),
        response: out,
        receipt,
        replayed,
      });
  }
  return out;
}
