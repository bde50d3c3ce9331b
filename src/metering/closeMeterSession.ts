import { MalformedInputError, errorCodes } from '../core/errors';
import type { RequestBinding } from '../core/rail';
import type { RefundStatus } from './meterSession';
import {
  audit,
  auditReasonOf,
  finish,
  OPEN_TO_REFUND,
  operatorBinding,
  outcome,
  pending,
  type CloseDeps,
  type CloseOutcome,
} from './closeSteps';
import { recoverSettlement, settleAuthorizedSession } from './settleAuthorizedSession';

export { auditReasonOf, operatorBinding, type CloseDeps, type CloseOutcome } from './closeSteps';

const SETTLED: ReadonlyArray<RefundStatus | undefined> = ['sent', 'none', 'unsupported'];
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
export async function closeMeterSession(
  id: string,
  binding: RequestBinding,
  destination: string | undefined,
  deps: CloseDeps,
): Promise<CloseOutcome | undefined> {
  let session = await deps.store.close(id);
  if (!session) return undefined;
  const deadline = deps.now() + deps.waitMs;
  while (session.reserved > 0n || session.refund?.status === 'in_progress') {
    if (deps.now() >= deadline) {
      // An authorized session's settlement on record may have landed (its sender died): record it instead of waiting on.
      const recovered =
        session.reserved === 0n ? await recoverSettlement(session, binding, deps, closeMeterSession) : undefined;
      if (recovered) return recovered;
      throw pending(
        session.reserved > 0n
          ? 'Calls of this session are still being served.'
          : 'Its refund is being sent, or its outcome is unknown and awaits the operator.',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    session = (await deps.store.get(id)) ?? session;
  }
  if (SETTLED.includes(session.refund?.status) && session.finalReceipt) return outcome(session, session.finalReceipt);
  if (session.authorization !== undefined) return settleAuthorizedSession(session, binding, deps, closeMeterSession);

  const amount = session.authorized - session.used;
  const refunder = deps.refunds[session.rail];
  if (amount === 0n)
    return finish(session, binding, { status: 'none', amount }, OPEN_TO_REFUND, deps, closeMeterSession);
  if (!refunder)
    return finish(session, binding, { status: 'unsupported', amount }, OPEN_TO_REFUND, deps, closeMeterSession);
  if (refunder.needsDestination && destination === undefined)
    return finish(
      session,
      binding,
      { status: 'awaiting_destination', amount },
      OPEN_TO_REFUND,
      deps,
      closeMeterSession,
    );

  const claimed = await deps.store.setRefund(id, OPEN_TO_REFUND, { status: 'in_progress', amount });
  // Another close took the refund between our read and now: answer what it records.
  if (!claimed.applied) return closeMeterSession(id, binding, destination, deps);

  let result;
  try {
    result = await refunder.refund({
      session: id,
      payer: session.payer,
      asset: session.asset,
      network: session.network,
      amount,
      ...(destination !== undefined ? { destination } : {}),
    });
  } catch (error) {
    deps.onError?.(error, 'refund');
    await audit(deps, session, amount, 'unknown', auditReasonOf(error));
    throw pending(
      'Its refund was attempted but its outcome is unknown; it is recorded in progress and will not be sent again automatically.',
    );
  }
  if (result.status === 'refused') {
    await audit(deps, session, amount, 'refused', result.reason);
    await deps.store.setRefund(
      id,
      ['in_progress'],
      refunder.needsDestination ? { status: 'awaiting_destination', amount } : undefined,
    );
    if (refunder.needsDestination) {
      throw new MalformedInputError(
        errorCodes.METERING_MALFORMED,
        `The refund destination was refused (${result.reason}): ${result.message} Close again with an invoice for exactly ${amount}.`,
        {
          details: { reason: result.reason, amount: amount.toString() },
        },
      );
    }
    throw pending(`Its refund was refused by the rail (${result.reason}); nothing was sent. Retry the close later.`);
  }
  const closed = await finish(
    session,
    binding,
    { status: 'sent', amount, reference: result.reference },
    ['in_progress'],
    deps,
    closeMeterSession,
  );
  await audit(deps, session, amount, 'sent', undefined, {
    reference: result.reference,
    ...(closed ? { receipt: closed.receipt } : {}),
  });
  return closed;
}

/**
 * Settles by hand a refund left `in_progress` with an unknown outcome (the operator looked it up on the rail):
 * `sent` records it with its reference and signs the final receipt; `not_sent` frees it, so the next close
 * sends it. Answers the close outcome when it was recorded sent, undefined otherwise.
 */
export async function resolveRefund(
  id: string,
  resolution: { sent: string } | { notSent: true },
  deps: CloseDeps,
): Promise<CloseOutcome | undefined> {
  const session = await deps.store.get(id);
  if (!session || session.refund?.status !== 'in_progress') return undefined;
  if ('notSent' in resolution) {
    await deps.store.setRefund(id, ['in_progress'], undefined);
    return undefined;
  }
  return finish(
    session,
    operatorBinding(session),
    { status: 'sent', amount: session.refund.amount, reference: resolution.sent },
    ['in_progress'],
    deps,
    closeMeterSession,
  );
}
