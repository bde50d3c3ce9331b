import type { SignedReceipt } from '../core/receipt/receipt';
import type { CommitResult, MeterSession, RefundState, RefundStatus, ReserveResult } from './meterSession';

/**
 * Where metering sessions live. `reserve` and `commit` must be atomic per session: any number of concurrent
 * calls reserve at most the authorization in total, so the metered total never exceeds it.
 *
 * @example
 * await store.open(session);
 * const r = await store.reserve(session.id, 5_000n, Date.now()); // { ok: true }
 * await store.commit(session.id, 5_000n, 1_200n);                // { seq: 2, used: 1_200n, … }
 */
export interface MeteringStore {
  /** Records a new session; an existing one with the same id is kept and answered (a replayed deposit). */
  open(session: MeterSession): Promise<MeterSession>;
  /** Reserves `amount` of the free balance for a call, or refuses (unknown, closed, expired, exhausted). */
  reserve(id: string, amount: bigint, now: number): Promise<ReserveResult>;
  /** Ends a reservation, charging `charged` (≤ reserved); undefined when the session is unknown. */
  commit(id: string, reserved: bigint, charged: bigint): Promise<CommitResult | undefined>;
  /** Marks a session closed (no new reservations) and answers it; idempotent. */
  close(id: string): Promise<MeterSession | undefined>;
  /**
   * Sets (or, with undefined, clears) the refund state when the current one is in `expected` (compare-and-set, so one close sends the
   * refund), with the final receipt that states it. Answers whether it applied and the session after.
   */
  setRefund(
    id: string,
    expected: ReadonlyArray<RefundStatus | undefined>,
    refund: RefundState | undefined,
    finalReceipt?: SignedReceipt,
  ): Promise<{ applied: boolean; session?: MeterSession }>;
  /** A session, or undefined. */
  get(id: string): Promise<MeterSession | undefined>;
  /**
   * Sessions opened by an authorization (`settle: 'authorize'`) whose expiry is at or before `now` and whose close
   * is not recorded yet (no final receipt), earliest expiry first, at most `limit`: what `settleExpired` must settle
   * before the authorizations lapse, whichever process or instance opened them.
   */
  dueForSettlement(now: number, limit: number): Promise<MeterSession[]>;
}
