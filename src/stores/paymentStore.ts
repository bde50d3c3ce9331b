import type { SignedReceipt } from '../core/receipt/receipt';

/**
 * Replay, idempotency and receipt storage, behind one small async interface with an atomic claim.
 * A payment id moves `in_flight` → `settled` (receipt stored) or back to free (released on failure),
 * or to `pending` when a broadcast's outcome is unknown (reconciled later, never paid twice).
 */

/** What the store knows of one payment. */
export type PaymentRecord =
  | { state: 'in_flight'; requestKey: string; leaseUntil: number }
  | { state: 'pending'; requestKey: string; reference: string; rail: string; updatedAt: number; intent?: string }
  | { state: 'settled'; requestKey: string; receipt: SignedReceipt };

/**
 * Result of {@link PaymentStore.claim}. `takeover` says the claim replaced an expired `in_flight` lease: an
 * earlier attempt died holding it, perhaps after broadcasting, so the claimer must look for an earlier
 * settlement before paying.
 */
export type ClaimResult = { claimed: true; takeover?: true } | { claimed: false; record: PaymentRecord };

/** The store every paywall uses. Implementations: memory (tests), SQLite (embedded default), Redis. */
export interface PaymentStore {
  /**
   * Atomically claims `paymentId` for settlement for `leaseMs`. Exactly one concurrent caller wins;
   * the others get the current record. An expired `in_flight` lease may be claimed again.
   */
  claim(paymentId: string, requestKey: string, leaseMs: number): Promise<ClaimResult>;
  /**
   * Stores the receipt of a settled payment (terminal) and returns the receipt the store now holds. The first
   * receipt stays: settling a payment that is already settled changes nothing and returns the earlier receipt,
   * so two racing settlers can both answer with the one receipt on record.
   */
  settle(paymentId: string, receipt: SignedReceipt): Promise<SignedReceipt>;
  /**
   * Records a broadcast whose outcome is unknown, for reconciliation. A settled payment stays settled.
   * `intent` is the paywall's opaque settlement intent (what it needs to settle and sign the receipt after a
   * restart); a later call without one keeps the intent on record.
   */
  markPending(paymentId: string, rail: string, reference: string, intent?: string): Promise<void>;
  /**
   * Frees a payment after a failure that moved no money: only a record in `state` (default `in_flight`) is
   * freed. `pending` frees a broadcast that reconciliation found failed (reverted, dropped, expired).
   */
  release(paymentId: string, state?: 'in_flight' | 'pending'): Promise<void>;
  /**
   * Lets the next claimer take an `in_flight` claim over at once (its lease ends now) instead of freeing it:
   * for a claim taken over from a dead attempt whose own payment then failed, so that the dead attempt's payer,
   * who may have paid, is looked up again on the next try. Any other record is left as it is.
   */
  expireClaim(paymentId: string): Promise<void>;
  /** Reads a record. */
  get(paymentId: string): Promise<PaymentRecord | undefined>;
  /** Lists pending payments for reconciliation. */
  listPending(): Promise<Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }>>;
}
