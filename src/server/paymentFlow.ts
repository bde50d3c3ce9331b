import { PaymentConflictError, PaymentInvalidError } from '../core/errors';
import type { AuthorizationRail, RailPayload, RequestBinding, ServerRail, SettleResult } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import type { PaymentRequirements } from '../protocol/schemas';
import type { PaymentStore, ReplayPolicy } from '../stores/paymentStore';
import { buildChallenge } from './buildChallenge';
import type { PaywallExtension, SettlementOutcome } from './extensions';
import { withReceipt } from './issueReceipt';
import type { FetchHandler, PaywallEvent } from './paywall';
import { errorResponse } from './responses';
import type { CompiledRoute } from './routes';
import { paymentReasons } from '../protocol/reasons';

/*
 * The pieces every stage of the paid path shares: what the flow needs from the paywall, the request and payment
 * it carries from stage to stage, and the answers any stage may give (a refusal with a fresh challenge, 409
 * `claim_lost`). The stages themselves: processPayment (match and claim), answerClaimedPayment (a payment
 * someone already claimed), settlePaidRequest (verify, handler, settle once), serveSettled (receipt and
 * delivery), recordSettlement.
 */

/** What the payment flow needs from the paywall. */
export type PaymentFlowDeps = {
  railsById: Map<string, ServerRail>;
  secret: Uint8Array;
  store: PaymentStore;
  signer: ReceiptSigner;
  /** Receipt issuer; undefined only in development / test, where the request's origin stands in. */
  issuer: string | undefined;
  settleLeaseMs: number;
  /** How often, and how long after its settlement, a settled payment serves the identical request again. */
  replay: ReplayPolicy;
  emit: (event: PaywallEvent) => void;
  now: () => number;
  extensions: readonly PaywallExtension[];
  /** Payment ids this process is settling right now (a retry waits for them instead of settling again). */
  settling: Set<string>;
};

export type SettledResult = Extract<SettleResult, { status: 'settled' }>;

/** Where the payment came from: an x402 PAYMENT-SIGNATURE, or a rail's own Authorization scheme (L402). */
export type PaymentSource =
  | { kind: 'x402'; header: string }
  | { kind: 'authorization'; header: string; rail: AuthorizationRail }
  | { kind: 'mpp'; header: string };

/** The protocol a payment came in, as receipts name it. */
export function protocolOf(source: PaymentSource): 'x402' | 'l402' | 'mpp' {
  return source.kind === 'authorization' ? 'l402' : source.kind;
}

/** One paid request on its way through the flow. */
export type PaidRequest = {
  source: PaymentSource;
  route: CompiledRoute;
  binding: RequestBinding;
  request: Request;
  handler: FetchHandler;
};

/** A payment decoded, matched to our offer, and keyed. */
export type MatchedPayment = {
  rail: ServerRail;
  accepted: PaymentRequirements;
  payload: RailPayload;
  paymentId: string;
  challengeId: string;
};

/** A payment refused before it was claimed: the reason code and what the payer should do. */
export type Rejection = { reason: string; message: string };

/** Which payment a settlement outcome is about: everything of {@link SettlementOutcome} but how it ended. */
export type SettlementSubject = Omit<SettlementOutcome, 'outcome' | 'receipt' | 'reason'>;

/** The subject of a matched payment for this request, paid by `payer` for `amount`. */
export function subjectOf(
  paid: PaidRequest,
  matched: MatchedPayment,
  by: { payer: string; amount: string },
): SettlementSubject {
  return {
    paymentId: matched.paymentId,
    route: paid.route.key,
    rail: matched.rail.id,
    accepted: matched.accepted,
    binding: paid.binding,
    ...by,
  };
}

/** Tells each extension how a settlement ended; an observer's failure never changes the payment's answer. */
export async function notifySettlement(
  deps: PaymentFlowDeps,
  subject: SettlementSubject,
  result: Pick<SettlementOutcome, 'outcome' | 'receipt' | 'reason'>,
): Promise<void> {
  const outcome: SettlementOutcome = { ...subject, ...result };
  for (const extension of deps.extensions) await extension.onSettlement?.(outcome).catch(() => undefined);
}

/** 402 with the reason and a fresh challenge (the bare error when no offer can be quoted right now). */
export async function reject(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  reason: string,
  message: string,
): Promise<Response> {
  deps.emit({ type: 'rejected', route: paid.route.key, reason, status: 402 });
  try {
    return (
      await buildChallenge(
        paid.route,
        paid.binding,
        deps,
        { reason, message },
        paid.request.headers.get('Accept-Payment'),
      )
    ).response;
  } catch {
    return errorResponse(new PaymentInvalidError(reason, message));
  }
}

/** 409 `claim_lost`: this attempt's claim was taken over; nothing is served (the receipt, when it settled). */
export function claimLost(paid: PaidRequest, deps: PaymentFlowDeps, receipt: SignedReceipt | undefined): Response {
  const error = new PaymentConflictError(
    paymentReasons.CLAIM_LOST,
    'This payment was taken over by another attempt while this request ran; it is not served twice. Retry the same request to get its answer.',
  );
  deps.emit({ type: 'rejected', route: paid.route.key, reason: error.reason, status: error.status });
  const response = errorResponse(error);
  return receipt ? withReceipt(response, receipt) : response;
}
