import { closeMeterSession, operatorBinding, type CloseDeps, type CloseOutcome } from './closeMeterSession';

/**
 * Closes the authorized sessions among `ids` whose expiry has passed (operator side) so their totals are settled
 * before the authorizations lapse; settled or unknown ids leave the set, a close that cannot finish yet stays for
 * the next run (its error goes to `onError`).
 *
 * @example setInterval(() => void meter.settleExpired(), 60_000);
 */
export async function settleExpiredSessions(ids: Set<string>, deps: CloseDeps): Promise<CloseOutcome[]> {
  const closed: CloseOutcome[] = [];
  for (const id of [...ids]) {
    const session = await deps.store.get(id);
    if (!session || session.finalReceipt) {
      ids.delete(id);
      continue;
    }
    if (session.expiresAt > deps.now()) continue;
    try {
      const outcome = await closeMeterSession(id, operatorBinding(session), undefined, deps);
      ids.delete(id);
      if (outcome) closed.push(outcome);
    } catch (error) {
      deps.onError?.(error, 'refund');
    }
  }
  return closed;
}
