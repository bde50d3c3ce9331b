import { MalformedInputError, X402RailsError, errorCodes } from '../core/errors';
import type { RequestBinding } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import type { AuditKind, AuditLog } from '../risk/auditLog';
import type { MeteringAuthorizer } from './meteringAuthorizer';
import type { MeteringRefunder } from './meteringRefunder';
import type { MeteringStore } from './meteringStore';
import { signMeteringReceipt } from './meteringReceipt';
import type { MeterSession, RefundState, RefundStatus } from './meterSession';
import { recoverSettlement, settleAuthorizedSession } from './settleAuthorizedSession';

/** What closing needs from the metering extension. */
export type CloseDeps = {
  store: MeteringStore;
  signer: ReceiptSigner;
  refunds: Readonly<Record<string, MeteringRefunder>>;
  /** Authorizers by rail id: they settle the total of sessions opened by an authorization. */
  authorizers?: Readonly<Record<string, MeteringAuthorizer>>;
  /** How long a close waits for calls in flight (and for a concurrent close's refund), ms. */
  waitMs: number;
  now: () => number;
  onError?: (error: unknown, during: 'refund') => void;
  /** Where each refund attempt is recorded (kind `refund`, the final receipt as evidence). */
  audit?: AuditLog;
};

/** The answer to a close: the final receipt and the refund it states. */
export type CloseOutcome = {
  session: string;
  receipt: SignedReceipt;
  refund: { status: RefundStatus; amount: string; reference?: string };
  /** Sessions opened by an authorization: the one transfer of the total (`reference` = its transaction). */
  settlement?: { status: RefundStatus; amount: string; reference?: string };
};

const SETTLED: ReadonlyArray<RefundStatus | undefined> = ['sent', 'none', 'unsupported'];
export const OPEN_TO_REFUND: ReadonlyArray<RefundStatus | undefined> = [undefined, 'awaiting_destination'];
const STEP_MS = 20;

/**
 * Closes a session and refunds exactly its unused balance (`authorized − used`) once: the session stops taking
 * calls, calls in flight finish and are charged, then one close wins the refund (compare-and-set to
 * `in_progress`), pays it on the deposit's rail and records it with the final receipt. Closing again answers
 * the recorded final receipt; nothing is paid twice. Undefined when the session is unknown.
 *
 * Throws X402RailsError 503 `METERING__CLOSE__PENDING` while calls are still in flight or a refund's outcome is
 * unknown, and 400 `METERING__SESSION__MALFORMED` when the client's refund destination was refused (nothing sent).
 */
export async function closeMeterSession(id: string, binding: RequestBinding, destination: string | undefined, deps: CloseDeps): Promise<CloseOutcome | undefined> {
  let session = await deps.store.close(id);
  if (!session) return undefined;
  const deadline = deps.now() + deps.waitMs;
  while (session.reserved > 0n || session.refund?.status === 'in_progress') {
    if (deps.now() >= deadline) {
      // An authorized session's settlement on record may have landed (its sender died): record it instead of waiting on.
      const recovered = session.reserved === 0n ? await recoverSettlement(session, binding, deps) : undefined;
      if (recovered) return recovered;
      throw pending(session.reserved > 0n ? 'Calls of this session are still being served.' : 'Its refund is being sent, or its outcome is unknown and awaits the operator.');
    }
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    session = (await deps.store.get(id)) ?? session;
  }
  if (SETTLED.includes(session.refund?.status) && session.finalReceipt) return outcome(session, session.finalReceipt);
  if (session.authorization !== undefined) return settleAuthorizedSession(session, binding, deps);

  const amount = session.authorized - session.used;
  const refunder = deps.refunds[session.rail];
  if (amount === 0n) return finish(session, binding, { status: 'none', amount }, OPEN_TO_REFUND, deps);
  if (!refunder) return finish(session, binding, { status: 'unsupported', amount }, OPEN_TO_REFUND, deps);
  if (refunder.needsDestination && destination === undefined) return finish(session, binding, { status: 'awaiting_destination', amount }, OPEN_TO_REFUND, deps);

  const claimed = await deps.store.setRefund(id, OPEN_TO_REFUND, { status: 'in_progress', amount });
  // Another close took the refund between our read and now: answer what it records.
  if (!claimed.applied) return closeMeterSession(id, binding, destination, deps);

  let result;
  try {
    result = await refunder.refund({ session: id, payer: session.payer, asset: session.asset, network: session.network, amount, ...(destination !== undefined ? { destination } : {}) });
  } catch (error) {
    deps.onError?.(error, 'refund');
    await audit(deps, session, amount, 'unknown', auditReasonOf(error));
    throw pending('Its refund was attempted but its outcome is unknown; it is recorded in progress and will not be sent again automatically.');
  }
  if (result.status === 'refused') {
    await audit(deps, session, amount, 'refused', result.reason);
    await deps.store.setRefund(id, ['in_progress'], refunder.needsDestination ? { status: 'awaiting_destination', amount } : undefined);
    if (refunder.needsDestination) {
      throw new MalformedInputError(errorCodes.METERING_MALFORMED, `The refund destination was refused (${result.reason}): ${result.message} Close again with an invoice for exactly ${amount}.`, {
        details: { reason: result.reason, amount: amount.toString() },
      });
    }
    throw pending(`Its refund was refused by the rail (${result.reason}); nothing was sent. Retry the close later.`);
  }
  const closed = await finish(session, binding, { status: 'sent', amount, reference: result.reference }, ['in_progress'], deps);
  await audit(deps, session, amount, 'sent', undefined, { reference: result.reference, ...(closed ? { receipt: closed.receipt } : {}) });
  return closed;
}

/**
 * The reason an audit record gives for a failure: the error's stable code (or its class name), never its message
 * (a chain library's message can quote the call it failed, signature and all).
 *
 * @example auditReasonOf(new RailUnavailableError('…')) // 'INFRA__RAIL__UNAVAILABLE'
 */
export function auditReasonOf(error: unknown): string {
  if (error instanceof X402RailsError) return error.code;
  return error instanceof Error ? error.name : 'unknown_error';
}

/** The request a close made by the operator (not by a client request) is bound to in its final receipt. */
export function operatorBinding(session: MeterSession): RequestBinding {
  return { method: 'DELETE', url: `${session.issuer}/.well-known/x402-rails/metering/${session.id}`, bodyHash: '' };
}

/** Appends a refund (or settlement) attempt to the audit log; a failing append never changes the close's answer. */
export async function audit(
  deps: CloseDeps,
  session: MeterSession,
  amount: bigint,
  outcome: 'sent' | 'refused' | 'unknown',
  reason?: string,
  evidence?: Record<string, unknown>,
  kind: AuditKind = 'refund',
): Promise<void> {
  if (!deps.audit) return;
  try {
    await deps.audit.append({
      kind,
      at: deps.now(),
      route: session.route,
      paymentId: session.depositReceipt,
      rail: session.rail,
      network: session.network,
      asset: session.asset,
      payer: session.payer,
      amount: amount.toString(),
      outcome,
      ...(reason !== undefined ? { reason } : {}),
      evidence: { session: session.id, ...evidence },
    });
  } catch (error) {
    deps.onError?.(error, 'refund');
  }
}

/**
 * Settles by hand a refund left `in_progress` with an unknown outcome (the operator looked it up on the rail):
 * `sent` records it with its reference and signs the final receipt; `not_sent` frees it, so the next close
 * sends it. Answers the close outcome when it was recorded sent, undefined otherwise.
 */
export async function resolveRefund(id: string, resolution: { sent: string } | { notSent: true }, deps: CloseDeps): Promise<CloseOutcome | undefined> {
  const session = await deps.store.get(id);
  if (!session || session.refund?.status !== 'in_progress') return undefined;
  if ('notSent' in resolution) {
    await deps.store.setRefund(id, ['in_progress'], undefined);
    return undefined;
  }
  return finish(session, operatorBinding(session), { status: 'sent', amount: session.refund.amount, reference: resolution.sent }, ['in_progress'], deps);
}

/** Signs the final receipt stating `refund` and records it when the refund state is still one of `expected`. */
export async function finish(
  session: MeterSession,
  binding: RequestBinding,
  refund: RefundState,
  expected: ReadonlyArray<RefundStatus | undefined>,
  deps: CloseDeps,
): Promise<CloseOutcome | undefined> {
  const receipt = await signMeteringReceipt(deps.signer, session, binding, deps.now(), { seq: session.seq + 1, charged: 0n, used: session.used, final: true, refund });
  const set = await deps.store.setRefund(session.id, expected, refund, receipt);
  if (!set.applied) return closeMeterSession(session.id, binding, undefined, deps);
  return outcome(session, receipt);
}

function outcome(session: MeterSession, receipt: SignedReceipt): CloseOutcome {
  const settlement = receipt.metering?.settlement;
  if (settlement) return { session: session.id, receipt, refund: { status: 'none', amount: '0' }, settlement };
  const refund = receipt.metering?.refund ?? { status: 'none' as const, amount: (session.authorized - session.used).toString() };
  return { session: session.id, receipt, refund };
}

/** The 503 a close answers while it cannot finish yet. */
export function pending(why: string): X402RailsError {
  return new X402RailsError(errorCodes.METERING_CLOSE_PENDING, `The metering session cannot be closed yet. ${why} Retry the close shortly.`, { status: 503 });
}
