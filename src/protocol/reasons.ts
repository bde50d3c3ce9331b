/**
 * The registry of payment-rejection reasons: the machine-readable `reason` a refused payment carries (in a 402's
 * `error`, an error body's `reason`, `VerifyResult` / `SettleResult`, a SettleResponse's `errorReason`). Values
 * are wire strings and never change; reasons the x402 standard defines keep the standard's spelling. Each entry's
 * doc comment is its meaning.
 *
 * Filled folder by folder: the paid-request flow of src/server and its challenges first. A rail adapter may still
 * answer a reason of its own (the result types take any string), but a reason two places share belongs here.
 *
 * @example if (result.reason === paymentReasons.PAYMENT_ALREADY_USED) payAgain()
 */
export const paymentReasons = {
  // challenges (the offer the payment answers)
  /** The echoed offer carries no challenge token: it was not one this server issued. */
  CHALLENGE_MISSING: 'challenge_missing',
  /** The challenge token does not verify for this server, request and offer (forged, altered, another route). */
  CHALLENGE_INVALID: 'challenge_invalid',
  /** The challenge expired before the payment arrived: pay a fresh one. */
  CHALLENGE_EXPIRED: 'challenge_expired',
  /** A credential accepted once (an MPP Lightning charge) was presented again. */
  CHALLENGE_CONSUMED: 'challenge_consumed',
  /** No rail of this route takes the echoed offer. */
  UNSUPPORTED_OFFER: 'unsupported_offer',
  // one payment, one service (the claim and its record)
  /** The payment was already used for another request. */
  PAYMENT_ALREADY_USED: 'payment_already_used',
  /** The payment's settlement failed after its request was served once; it is never served again. */
  PAYMENT_FAILED: 'payment_failed',
  /** Another request is settling this payment right now: retry shortly. */
  PAYMENT_IN_PROGRESS: 'payment_in_progress',
  /** 409: another attempt took this payment's claim over while the request ran; nothing was served. */
  CLAIM_LOST: 'claim_lost',
  /** 409: the identical request came again after the replay window of its settlement closed. */
  REPLAY_WINDOW_CLOSED: 'replay_window_closed',
  /** 409: the identical request was already replayed as often as the paywall allows. */
  REPLAY_LIMIT_REACHED: 'replay_limit_reached',
  /** 409: the payment is not settled, or was settled for another request, so it cannot be replayed. */
  NOT_REPLAYABLE: 'not_replayable',
  // what the chain says of the payment
  /** The payment's nonce was already used on chain (EVM). */
  NONCE_USED: 'nonce_used',
  /** The payment's transaction already landed (Solana). */
  ALREADY_SETTLED: 'already_settled',
  /** The settlement was broadcast and is not confirmed yet: retry the same request for the receipt (503). */
  SETTLEMENT_PENDING: 'settlement_pending',
} as const;

/** A reason of the registry ({@link paymentReasons}). */
export type PaymentReason = (typeof paymentReasons)[keyof typeof paymentReasons];
