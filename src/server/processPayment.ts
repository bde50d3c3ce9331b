import { hashCanonical } from '../core/canonical';
import {
  PaymentConflictError,
  PaymentInvalidError,
  PaymentDeferredError,
  SettlementPendingError,
} from '../core/errors';
import {
  allowsReuse,
  canFindSettlement,
  foldPayloadExtensions,
  type AuthorizationRail,
  type PaymentContext,
  type RailPayload,
  type RequestBinding,
  type ServerRail,
  type SettleResult,
} from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import { decodePaymentSignatureHeader } from '../protocol/headers';
import type { PaymentRequirements } from '../protocol/schemas';
import type { PaymentRecord, PaymentStore, ReplayPolicy } from '../stores/paymentStore';
import { reportedCharge } from './reportCharge';
import { buildChallenge } from './buildChallenge';
import { openChallenge } from './challenge';
import { keepClaim, type ClaimLease } from './claimLease';
import { issueReceipt, withReceipt } from './issueReceipt';
import type { FetchHandler, PaywallEvent } from './paywall';
import { errorResponse } from './responses';
import type { CompiledRoute } from './routes';
import type { PaymentRefusal, PaywallExtension, SettlementOutcome } from './extensions';
import { encodeSettlementIntent } from './settlementIntent';
import { openMppCredential } from './mppChallenges';
import { speaksMppServer } from '../core/mppRail';
import { withMppReceipt } from './mppReceipt';

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
function protocolOf(source: PaymentSource): 'x402' | 'l402' | 'mpp' {
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
type MatchedPayment = {
  rail: ServerRail;
  accepted: PaymentRequirements;
  payload: RailPayload;
  paymentId: string;
  challengeId: string;
};

const WAIT_STEP_MS = 20;

/**
 * Verification reasons that say the chain already spent this very payment (EVM: its nonce was used; Solana: its
 * transaction landed). On a fresh claim they mean the store lost the record: the rail is asked for the settlement.
 */
const SPENT_REASONS: ReadonlySet<string> = new Set(['nonce_used', 'already_settled']);

/**
 * The paid path: decode → match the echoed offer → claim the payment id → verify → handler → settle only
 * when the handler answered below 400 → receipt. A payment settles at most once; a retry of the same paid
 * request gets the stored receipt; the same payment for another request is refused.
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
  const matched = await decodeAndMatch(paid, deps);
  if ('reason' in matched) return reject(paid, deps, matched.reason, matched.message);

  const requestKey = hashCanonical(paid.binding);
  const claim = await deps.store.claim(matched.paymentId, requestKey, deps.settleLeaseMs);
  if (!claim.claimed) return answerExisting(paid, deps, matched, requestKey, claim.record);
  const { owner } = claim;
  const lease = keepClaim({
    store: deps.store,
    paymentId: matched.paymentId,
    owner,
    leaseMs: deps.settleLeaseMs,
    now: deps.now,
  });

  let settling = false;
  let subject = subjectOf(paid, matched, { payer: '', amount: matched.accepted.amount });
  let admitted = false;
  // Encoded only when a settlement goes pending: most payments never need it.
  let encodedIntent: string | undefined;
  // What the handler reported it used (`reportCharge`), for rails that settle the actual amount (upto).
  let charge: string | undefined;
  const intent = () =>
    (encodedIntent ??= encodeSettlementIntent({
      route: paid.route.key,
      rail: matched.rail.id,
      accepted: matched.accepted,
      payload: matched.payload,
      binding: paid.binding,
      challengeId: matched.challengeId,
      ...(charge !== undefined ? { charge } : {}),
    }));
  const markPending = (reference: string) => {
    // A pending record is not taken over: stop renewing (a renewal would find the claim gone and call it lost).
    lease.stop();
    return deps.store.markPending(matched.paymentId, matched.rail.id, reference, intent());
  };
  try {
    if (claim.takeover && canFindSettlement(matched.rail)) {
      const found = await matched.rail.findSettlement(matched.payload, matched.accepted);
      if (found && !allowsReuse(matched.rail) && claim.takenFrom !== undefined && claim.takenFrom !== requestKey) {
        // The dead attempt's request paid: its own retry takes the claim over again, finds this settlement and
        // is served with its receipt. Another request presenting the payment is not (one payment, one service).
        await deps.store.expireClaim(matched.paymentId, owner, claim.takenFrom);
        return reject(
          paid,
          deps,
          'payment_already_used',
          'This payment was already used for another request. Pay a fresh challenge.',
        );
      }
      if (found) return await serveSettled(paid, deps, matched, { status: 'settled', ...found }, lease);
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
    subject = subjectOf(paid, matched, { payer: verification.payer, amount: verification.amount });
    const refusal = await admitVerified(paid, deps, matched, subject);
    admitted = true;
    if (refusal) {
      await deps.store.release(matched.paymentId, 'in_flight', owner);
      await notifySettlement(deps, subject, { outcome: 'abandoned', reason: refusal.reason });
      if (refusal.status === 503) throw new PaymentDeferredError(refusal.reason, refusal.message, refusal.code);
      return reject(paid, deps, refusal.reason, refusal.message);
    }
    const response = await paid.handler(paid.request);
    if (response.status >= 400) {
      await deps.store.release(matched.paymentId, 'in_flight', owner);
      await notifySettlement(deps, subject, { outcome: 'abandoned', reason: `handler answered ${response.status}` });
      return response;
    }
    if (!(await lease.confirm())) {
      // Another attempt holds the payment now: settling here would settle behind its back, delivering would
      // serve one payment twice.
      await response.body?.cancel();
      await notifySettlement(deps, subject, { outcome: 'abandoned', reason: 'claim_lost' });
      return claimLost(paid, deps, undefined);
    }
    settling = true;
    deps.settling.add(matched.paymentId);
    charge = reportedCharge(paid.request);
    const settlement = await matched.rail.settle(
      matched.payload,
      matched.accepted,
      charge !== undefined ? { ...ctx, charge } : ctx,
    );
    if (settlement.status === 'settled') {
      const { receipt, first } = await recordSettlement(
        deps,
        subject,
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
    await notifySettlement(deps, subject, { outcome: 'failed', reason: settlement.reason });
    return reject(paid, deps, settlement.reason, settlement.message);
  } catch (error) {
    if (error instanceof SettlementPendingError) {
      if (!settling) throw error;
      await markPending(error.reference);
      await notifySettlement(deps, subject, { outcome: 'pending', reason: error.message });
      throw error;
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (settling) await notifySettlement(deps, subject, { outcome: 'error', reason });
    else if (admitted) await notifySettlement(deps, subject, { outcome: 'abandoned', reason });
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

/** 409 `claim_lost`: this attempt's claim was taken over; nothing is served (the receipt, when it settled). */
function claimLost(paid: PaidRequest, deps: PaymentFlowDeps, receipt: SignedReceipt | undefined): Response {
  const error = new PaymentConflictError(
    'claim_lost',
    'This payment was taken over by another attempt while this request ran; it is not served twice. Retry the same request to get its answer.',
  );
  deps.emit({ type: 'rejected', route: paid.route.key, reason: error.reason, status: error.status });
  const response = errorResponse(error);
  return receipt ? withReceipt(response, receipt) : response;
}

type Rejection = { reason: string; message: string };

async function decodeAndMatch(paid: PaidRequest, deps: PaymentFlowDeps): Promise<MatchedPayment | Rejection> {
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
  if (!rail) return { reason: 'unsupported_offer', message: 'No rail of this route takes the echoed offer.' };
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

async function answerExisting(
  paid: PaidRequest,
  deps: PaymentFlowDeps,
  matched: MatchedPayment,
  requestKey: string,
  record: PaymentRecord,
): Promise<Response> {
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
    return processPayment(paid, deps);
  }
  if (current.state === 'failed') {
    return reject(
      paid,
      deps,
      'payment_failed',
      'The settlement of this payment failed after it was served once; it is not served again. Pay a fresh challenge.',
    );
  }
  // A reusable credential (L402) is re-checked on every use, the identical request included: its caveats
  // (expiry) may have lapsed since it was settled.
  if (current.state === 'settled' && allowsReuse(matched.rail)) return serveReuse(paid, deps, matched, current.receipt);
  if (current.requestKey !== requestKey) {
    return reject(
      paid,
      deps,
      'payment_already_used',
      'This payment was already used for another request. Pay a fresh challenge.',
    );
  }
  if (current.state === 'settled') return serveReplay(paid, deps, matched, requestKey, current.receipt);
  if (current.state === 'pending' && !deps.settling.has(matched.paymentId))
    return reconcilePending(paid, deps, matched, current.reference);
  return reject(
    paid,
    deps,
    'payment_in_progress',
    'This payment is still being settled by another request. Retry shortly.',
  );
}

/**
 * Signs the receipt of a settled payment for the request it was made for, stores it (the first receipt on
 * record wins), and, when it is the first, tells the observers and extensions. Every settlement, at first try,
 * on a retry or by reconciliation, goes through here. Answers the receipt on record and whether this call
 * recorded it (`first`: its request is served for the first time; otherwise it is a replay).
 */
export async function recordSettlement(
  deps: PaymentFlowDeps,
  subject: SettlementSubject,
  challengeId: string,
  settlement: SettledResult,
  protocol?: 'x402' | 'l402' | 'mpp',
): Promise<{ receipt: SignedReceipt; first: boolean }> {
  const signed = await issueReceipt({
    signer: deps.signer,
    // Only development and test paywalls run without an issuer (see paywall()): a production receipt never
    // names whatever Host a stranger sent.
    issuer: deps.issuer ?? new URL(subject.binding.url).origin,
    railId: subject.rail,
    accepted: subject.accepted,
    settlement,
    binding: subject.binding,
    challengeId,
    now: deps.now(),
    ...(protocol !== undefined ? { protocol } : {}),
  });
  const receipt = await deps.store.settle(subject.paymentId, signed);
  const first = receipt.id === signed.id;
  if (first) {
    deps.emit({ type: 'settled', route: subject.route, receipt });
    await notifySettlement(deps, subject, { outcome: 'settled', receipt });
  }
  return { receipt, first };
}

/**
 * Records a payment found settled and serves the request once. When another attempt recorded it first (two
 * retries of a pending payment at once), this serving is a replay and counts against the replay bound.
 */
async function serveSettled(
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
async function serveReplay(
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
async function serveAgain(
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

/** Attaches the receipt, then lets each extension decorate the paid response. */
async function deliver(
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

/** Which payment a settlement outcome is about: everything of {@link SettlementOutcome} but how it ended. */
export type SettlementSubject = Omit<SettlementOutcome, 'outcome' | 'receipt' | 'reason'>;

/** The subject of a matched payment for this request, paid by `payer` for `amount`. */
function subjectOf(
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

/** Tells each extension how a settlement ended; an observer's failure never changes the payment's answer. */
async function notifySettlement(
  deps: PaymentFlowDeps,
  subject: SettlementSubject,
  result: Pick<SettlementOutcome, 'outcome' | 'receipt' | 'reason'>,
): Promise<void> {
  const outcome: SettlementOutcome = { ...subject, ...result };
  for (const extension of deps.extensions) await extension.onSettlement?.(outcome).catch(() => undefined);
}

async function reject(paid: PaidRequest, deps: PaymentFlowDeps, reason: string, message: string): Promise<Response> {
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
