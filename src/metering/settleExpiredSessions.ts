import { closeMeterSession, operatorBinding, type CloseDeps, type CloseOutcome } from './closeMeterSession';

/** Most sessions one `settleExpired` run settles (the rest wait for the next run, earliest expiry first). */
export const SETTLE_EXPIRED_BATCH = 100;

/**
 * Closes the authorized sessions whose expiry has passed (operator side) so their totals are settled before the
 * authorizations lapse. The store says which are due (`dueForSettlement`), so sessions opened by another process,
 * another instance or before a restart are found too. Each close claims its settlement by compare-and-set, so
 * instances running this at once settle each session once (the others answer the recorded close). A close that
 * cannot finish yet stays due for the next run (its error goes to `onError`).
 *
 * @example setInterval(() => void meter.settleExpired(), 60_000);
 */
export async function settleExpiredSessions(deps: CloseDeps, limit = SETTLE_EXPIRED_BATCH): Promise<CloseOutcome[]> {
  const closed: CloseOutcome[] = [];
  for (const session of await deps.store.dueForSettlement(deps.now(), limit)) {
    try {
      const outcome = await closeMeterSession(session.id, operatorBinding(session), undefined, deps);
      if (outcome) closed.push(outcome);
    } catch (error) {
      deps.onError?.(error, 'refund');
    }
  }
  return closed;
}
