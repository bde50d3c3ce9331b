import type { SignedReceipt } from '../core/receipt/receipt';

/**
 * Replay, idempotency and receipt storage, behind one small async interface with atomic transitions.
 * A payment id moves `in_flight` (claimed by one owner, lease renewed while its attempt lives) → `settled`
 * (receipt stored, terminal) or `failed` (settlement refused after the handler ran, terminal) or back to free
 * (released after a failure before any service), or to `pending` when a broadcast's outcome is unknown
 * (reconciled later, never paid twice).
 */

/** What the store knows of one payment. */
export type PaymentRecord =
  | { state: 'in_flight'; requestKey: string; leaseUntil: number }
  | { state: 'pending'; requestKey: string; reference: string; rail: string; updatedAt: number; intent?: string }
  /** `settledAt` (store clock, ms) and `replays` (identical requests served again since) bound idempotent replays. */
  | { state: 'settled'; requestKey: string; receipt: SignedReceipt; settledAt: number; replays: number }
  /** Settlement definitively refused after the handler ran: the payment is never served again. */
  | { state: 'failed'; requestKey: string; reason: string; failedAt: number };

/**
 * Result of {@link PaymentStore.claim}. `owner` is the claim's holder token: only it can renew or release the
 * claim, so an attempt whose lease lapsed and was taken over notices it. `takeover` says the claim replaced an
 * expired `in_flight` lease: an earlier attempt died holding it, perhaps after broadcasting, so the claimer must
 * look for an earlier settlement before paying; `takenFrom` is the request key that dead attempt was serving (a
 * settlement found then belongs to that request, not necessarily to the claimer's).
 */
export type ClaimResult =
  | { claimed: true; owner: string; takeover?: true; takenFrom?: string }
  | { claimed: false; record: PaymentRecord };

/** How many identical requests a settled payment serves again, and for how long after its settlement. */
export type ReplayPolicy = { windowMs: number; max: number };

/**
 * Result of {@link PaymentStore.replay}: admitted (counted), or why not — `replay_window_closed` (settled longer
 * ago than the window), `replay_limit_reached` (already replayed `max` times), `not_replayable` (not settled, or
 * settled for another request).
 */
export type ReplayAdmission =
  | { admitted: true }
  | { admitted: false; reason: 'replay_window_closed' | 'replay_limit_reached' | 'not_replayable' };

/** The store every paywall uses. Implementations: memory (tests), SQLite (embedded default), Redis. */
export interface PaymentStore {
  /**
   * Atomically claims `paymentId` for settlement for `leaseMs`. Exactly one concurrent caller wins and gets a
   * fresh owner token; the others get the current record. An expired `in_flight` lease may be claimed again.
   */
  claim(paymentId: string, requestKey: string, leaseMs: number): Promise<ClaimResult>;
  /**
   * Extends the `in_flight` claim held by `owner` to `leaseMs` from now. False when the claim is no longer
   * this owner's (taken over after its lease lapsed, settled, failed, released): the attempt has lost it.
   */
  renew(paymentId: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Stores the receipt of a settled payment (terminal) and returns the receipt the store now holds. The first
   * receipt stays: settling a payment that is already settled changes nothing and returns the earlier receipt,
   * so two racing settlers can both answer with the one receipt on record. Settling a `failed` payment
   * (reconciliation found it landed after all) records the receipt: money moved, the receipt must not be lost.
   */
  settle(paymentId: string, receipt: SignedReceipt): Promise<SignedReceipt>;
  /**
   * Records a broadcast whose outcome is unknown, for reconciliation. A settled payment stays settled.
   * `intent` is the paywall's opaque settlement intent (what it needs to settle and sign the receipt after a
   * restart); a later call without one keeps the intent on record.
   */
  markPending(paymentId: string, rail: string, reference: string, intent?: string): Promise<void>;
  /**
   * Records that the payment's settlement was definitively refused after its handler ran (terminal, leaves the
   * pending list): a later claim gets the `failed` record and the payment is never served again. A settled
   * payment stays settled.
   */
  fail(paymentId: string, reason: string): Promise<void>;
  /**
   * Frees a payment after a failure that moved no money and served nothing: only a record in `state` (default
   * `in_flight`) is freed, and with `owner` only an `in_flight` claim that owner still holds.
   */
  release(paymentId: string, state?: 'in_flight' | 'pending', owner?: string): Promise<void>;
  /**
   * Lets the next claimer take an `in_flight` claim over at once (its lease ends now) instead of freeing it:
   * for a claim taken over from a dead attempt whose own payment then failed, so that the dead attempt's payer,
   * who may have paid, is looked up again on the next try. With `owner`, only that owner's claim; with
   * `requestKey`, the claim is handed back to that request (the dead attempt's, so that its retry is the one that
   * finds its settlement). Any other record is left as it is.
   */
  expireClaim(paymentId: string, owner?: string, requestKey?: string): Promise<void>;
  /**
   * Atomically admits one more serving of a settled payment for the identical request (`requestKey`): only
   * within `policy.windowMs` of its settlement and at most `policy.max` times in all, counted across every
   * process sharing the store.
   */
  replay(paymentId: string, requestKey: string, policy: ReplayPolicy): Promise<ReplayAdmission>;
  /** Reads a record. */
  get(paymentId: string): Promise<PaymentRecord | undefined>;
  /** Lists pending payments for reconciliation. */
  listPending(): Promise<Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }>>;
}

/** A settled payment as {@link SettledListingStore.listSettled} lists it. */
export type SettledPayment = { paymentId: string; record: Extract<PaymentRecord, { state: 'settled' }> };

/** What {@link SettledListingStore.listSettled} returns: settled at or after `since`, before `until` (store clock, ms). */
export type SettledQuery = { since?: number; until?: number; limit?: number };

/**
 * A store that can list its settled payments, newest first (the operator dashboard reads receipts this way).
 * Memory, SQLite, Redis and Postgres stores can; Redis scans its keys, so keep `limit` modest there.
 */
export interface SettledListingStore extends PaymentStore {
  listSettled(query?: SettledQuery): Promise<SettledPayment[]>;
}

/** True when a store can list settled payments (see {@link SettledListingStore}). */
export function canListSettled(store: PaymentStore): store is SettledListingStore {
  return typeof (store as Partial<SettledListingStore>).listSettled === 'function';
}

/** Default and largest number of settled payments one listing returns. */
export const SETTLED_LISTING_LIMIT = 10_000;

/** Keeps the settled payments a query asks for, newest first, at most its limit (for stores that filter in memory). */
export function selectSettled(all: Iterable<SettledPayment>, query: SettledQuery = {}): SettledPayment[] {
  const limit = Math.min(query.limit ?? SETTLED_LISTING_LIMIT, SETTLED_LISTING_LIMIT);
  return [...all]
    .filter(
      ({ record }) =>
        (query.since === undefined || record.settledAt >= query.since) &&
        (query.until === undefined || record.settledAt < query.until),
    )
    .sort((a, b) => b.record.settledAt - a.record.settledAt || (a.paymentId < b.paymentId ? -1 : 1))
    .slice(0, limit);
}
