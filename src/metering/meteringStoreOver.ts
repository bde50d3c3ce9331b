import type { MeteringStore } from './meteringStore';
import { commitDraw, refundApplies, reserveDraw, withRefund, type MeterSession } from './meterSession';

/** What a store decides about one session: its answer and, when the session changes, the session to write. */
export type SessionDecision<T> = { result: T; next?: MeterSession };

/**
 * The one primitive a metering store implements: read a session, decide, and write the decision back
 * atomically (memory: synchronously; SQLite: an IMMEDIATE transaction; Redis: compare-and-set on a version).
 */
export type AtomicSessionUpdate = <T>(
  id: string,
  decide: (session: MeterSession | undefined) => SessionDecision<T>,
) => Promise<T>;

/**
 * Whether a session is due for settlement at `now`: opened by an authorization, expired, its close not recorded and
 * no settlement claimed (`in_progress`: another close is sending it, or its outcome awaits the operator's
 * `resolveRefund`, after which it is due again). Pure; the stores' `dueForSettlement` answers exactly these
 * (SQLite and Redis narrow by index, then check with this), so stuck settlements never crowd out the rest.
 */
export function isDueForSettlement(session: MeterSession, now: number): boolean {
  return (
    session.authorization !== undefined &&
    session.finalReceipt === undefined &&
    session.refund?.status !== 'in_progress' &&
    session.expiresAt <= now
  );
}

/**
 * Builds a {@link MeteringStore} over an atomic update, a read and the listing of sessions due for settlement:
 * every change is one decision of the pure rules in `meterSession` (reserve, commit, close, refund
 * compare-and-set), so all stores behave alike.
 *
 * @example const store = meteringStoreOver(async (id, decide) => { … }, async (id) => sessions.get(id), async (now, limit) => […]);
 */
export function meteringStoreOver(
  update: AtomicSessionUpdate,
  get: (id: string) => Promise<MeterSession | undefined>,
  dueForSettlement: (now: number, limit: number) => Promise<MeterSession[]>,
): MeteringStore {
  return {
    open: (session) =>
      update(session.id, (existing) => (existing ? { result: existing } : { result: session, next: session })),
    reserve: (id, amount, now) => update(id, (session) => reserveDraw(session, amount, now)),
    commit: (id, reserved, charged) =>
      update(id, (session) => (session ? commitDraw(session, reserved, charged) : { result: undefined })),
    close: (id) =>
      update(id, (session) => {
        if (!session) return { result: undefined };
        const next = { ...session, closed: true };
        return { result: next, next };
      }),
    setRefund: (id, expected, refund, finalReceipt) =>
      update<{ applied: boolean; session?: MeterSession }>(id, (session) => {
        if (!session || !refundApplies(session, expected))
          return { result: { applied: false, ...(session ? { session } : {}) } };
        const next = withRefund(session, refund, finalReceipt);
        return { result: { applied: true, session: next }, next };
      }),
    get,
    dueForSettlement,
  };
}
