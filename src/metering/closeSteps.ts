/**
 * The steps a metering close shares with the settlement of a session opened by an authorization
 * (settleAuthorizedSession): the close's dependencies and answer, the final receipt, audit records, the 503 while
 * pending. A step that loses a race closes again through the `closeAgain` it is given (closeMeterSession), so
 * neither file imports the other.
 */
import { X402RailsError, errorCodes } from '../core/errors';
import type { RequestBinding } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import type { AuditKind, AuditLog } from '../risk/auditLog';
import type { MeteringAuthorizer } from './meteringAuthorizer';
import type { MeteringRefunder } from './meteringRefunder';
import type { MeteringStore } from './meteringStore';
import { signMeteringReceipt } from './meteringReceipt';
import type { MeterSession, RefundState, RefundStatus } from './meterSession';

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

/** Closes a session again (closeMeterSession), for a step that lost a race to a concurrent close. */
export type CloseAgain = (
  id: string,
  binding: RequestBinding,
  destination: string | undefined,
  deps: CloseDeps,
) => Promise<CloseOutcome | undefined>;

export const OPEN_TO_REFUND: ReadonlyArray<RefundStatus | undefined> = [undefined, 'awaiting_destination'];

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

/** Signs the final receipt stating `refund` and records it when the refund state is still one of `expected`. */
export async function finish(
  session: MeterSession,
  binding: RequestBinding,
  refund: RefundState,
  expected: ReadonlyArray<RefundStatus | undefined>,
  deps: CloseDeps,
  closeAgain: CloseAgain,
): Promise<CloseOutcome | undefined> {
  const receipt = await signMeteringReceipt(deps.signer, session, binding, deps.now(), {
    seq: session.seq + 1,
    charged: 0n,
    used: session.used,
    final: true,
    refund,
  });
  const set = await deps.store.setRefund(session.id, expected, refund, receipt);
  if (!set.applied) return closeAgain(session.id, binding, undefined, deps);
  return outcome(session, receipt);
}

/** The close answer of a session whose final receipt is signed. */
export function outcome(session: MeterSession, receipt: SignedReceipt): CloseOutcome {
  const settlement = receipt.metering?.settlement;
  if (settlement) return { session: session.id, receipt, refund: { status: 'none', amount: '0' }, settlement };
  const refund = receipt.metering?.refund ?? {
    status: 'none' as const,
    amount: (session.authorized - session.used).toString(),
  };
  return { session: session.id, receipt, refund };
}

/** The 503 a close answers while it cannot finish yet. */
export function pending(why: string): X402RailsError {
  return new X402RailsError(
    errorCodes.METERING_CLOSE_PENDING,
    `The metering session cannot be closed yet. ${why} Retry the close shortly.`,
    { status: 503 },
  );
}
