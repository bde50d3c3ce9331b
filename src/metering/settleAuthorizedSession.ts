import type { RequestBinding } from '../core/rail';
import {
  audit,
  auditReasonOf,
  finish,
  OPEN_TO_REFUND,
  pending,
  type CloseAgain,
  type CloseDeps,
  type CloseOutcome,
} from './closeSteps';
import type { MeterSession } from './meterSession';

/**
 * The close of a session opened by an authorization (`settle: 'authorize'`), once its calls have finished:
 * settles exactly its total (`used`) from the authorization in one transfer, once, and records it with the final
 * receipt (which names the transaction). A total of 0 sends nothing. The settlement is claimed `in_progress`
 * (compare-and-set, so two closes settle once) before anything is broadcast, and its transaction is recorded
 * the moment it is broadcast; an unknown outcome leaves it `in_progress` for the operator (`resolveRefund`).
 *
 * Throws X402RailsError 503 `METERING__CLOSE__PENDING` when the settlement was refused (nothing moved; the
 * close may be retried) or its outcome is unknown.
 *
 * @example const closed = await settleAuthorizedSession(session, binding, deps); // closed.settlement: { status: 'sent', amount: '15800', reference: '0x…' }
 */
export async function settleAuthorizedSession(
  session: MeterSession,
  binding: RequestBinding,
  deps: CloseDeps,
  closeAgain: CloseAgain,
): Promise<CloseOutcome | undefined> {
  const amount = session.used;
  if (amount === 0n) return finish(session, binding, { status: 'none', amount }, OPEN_TO_REFUND, deps, closeAgain);
  const authorizer = deps.authorizers?.[session.rail];
  const authorization = parseAuthorization(session.authorization);
  if (!authorizer || !authorization)
    throw pending(`No authorizer settles rail ${session.rail} here; nothing was settled.`);

  const claimed = await deps.store.setRefund(session.id, OPEN_TO_REFUND, { status: 'in_progress', amount });
  // Another close took the settlement between our read and now: answer what it records.
  if (!claimed.applied) return closeAgain(session.id, binding, undefined, deps);

  const onBroadcast = async (reference: string) => {
    await deps.store.setRefund(session.id, ['in_progress'], { status: 'in_progress', amount, reference });
  };
  let result;
  try {
    result = await authorizer.settle({ session: session.id, authorization, amount, onBroadcast });
  } catch (error) {
    deps.onError?.(error, 'refund');
    await audit(deps, session, amount, 'unknown', auditReasonOf(error), undefined, 'settlement');
    throw pending(
      'Its settlement was attempted but its outcome is unknown; it is recorded in progress and will not be sent again automatically.',
    );
  }
  if (result.status === 'refused') {
    await audit(deps, session, amount, 'refused', result.reason, undefined, 'settlement');
    await deps.store.setRefund(session.id, ['in_progress'], undefined);
    throw pending(`Its settlement was refused by the rail (${result.reason}: ${result.message}); nothing was moved.`);
  }
  const closed = await finish(
    session,
    binding,
    { status: 'sent', amount, reference: result.reference },
    ['in_progress'],
    deps,
    closeAgain,
  );
  await audit(
    deps,
    session,
    amount,
    'sent',
    undefined,
    { reference: result.reference, ...(closed ? { receipt: closed.receipt } : {}) },
    'settlement',
  );
  return closed;
}

/**
 * A settlement left `in_progress` with its transaction on record (the process that sent it died, or its
 * confirmation was lost): when the authorizer finds that exactly the total landed, the close is recorded with it
 * (the final receipt names that transaction). Undefined otherwise (not an authorized session, no reference, not
 * landed): the close stays pending.
 *
 * @example const recovered = await recoverSettlement(session, binding, deps); // undefined unless the transfer on record landed
 */
export async function recoverSettlement(
  session: MeterSession,
  binding: RequestBinding,
  deps: CloseDeps,
  closeAgain: CloseAgain,
): Promise<CloseOutcome | undefined> {
  const state = session.refund;
  const authorizer = deps.authorizers?.[session.rail];
  const authorization = parseAuthorization(session.authorization);
  if (state?.status !== 'in_progress' || state.reference === undefined || !authorizer?.lookup || !authorization)
    return undefined;
  const found = await authorizer
    .lookup({ authorization, amount: state.amount, reference: state.reference })
    .catch((error: unknown) => {
      deps.onError?.(error, 'refund');
      return 'unknown' as const;
    });
  if (found !== 'landed') return undefined;
  const closed = await finish(
    session,
    binding,
    { status: 'sent', amount: state.amount, reference: state.reference },
    ['in_progress'],
    deps,
    closeAgain,
  );
  await audit(
    deps,
    session,
    state.amount,
    'sent',
    'recovered',
    { reference: state.reference, ...(closed ? { receipt: closed.receipt } : {}) },
    'settlement',
  );
  return closed;
}

function parseAuthorization(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
