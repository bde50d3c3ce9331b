/**
 * The payment, client, receipt and configuration errors of x402-rails, on the base class and codes of
 * src/protocol/errors.ts (re-exported here, so `core/errors` stays the one import for every error).
 */
import { X402RailsError, errorCodes, type ErrorCode, type X402RailsErrorOptions } from '../protocol/errors';

export {
  errorCodes,
  isX402RailsError,
  MalformedInputError,
  X402RailsError,
  type ErrorCode,
  type X402RailsErrorOptions,
} from '../protocol/errors';
/** A payment that is well-formed but not acceptable (wrong amount, bad signature, replayed…): answer 402. */
export class PaymentInvalidError extends X402RailsError {
  override name = 'PaymentInvalidError';
  /** Machine-readable reason, e.g. `amount_mismatch`. */
  readonly reason: string;
  constructor(reason: string, message: string, options: Omit<X402RailsErrorOptions, 'status'> = {}) {
    super(errorCodes.PAYMENT_INVALID, message, { ...options, status: 402, details: { reason, ...options.details } });
    this.reason = reason;
  }
}

/**
 * A payment that is valid but already spoken for (409): another attempt took its claim over while this request
 * ran (`claim_lost`), or it was settled and its request already served as often as a replay may be
 * (`replay_window_closed`, `replay_limit_reached`). Nothing is served; paying again is the client's call.
 *
 * @example if (e instanceof PaymentConflictError && e.reason === 'claim_lost') retrySameRequest()
 */
export class PaymentConflictError extends X402RailsError {
  override name = 'PaymentConflictError';
  /** Machine-readable reason, e.g. `claim_lost`. */
  readonly reason: string;
  constructor(reason: string, message: string, options: Omit<X402RailsErrorOptions, 'status'> = {}) {
    super(errorCodes.PAYMENT_CONFLICT, message, { ...options, status: 409, details: { reason, ...options.details } });
    this.reason = reason;
  }
}

/** A chain, RPC or node is unreachable or failing: answer 502 (bad upstream answer) or 503 (unreachable). */
export class RailUnavailableError extends X402RailsError {
  override name = 'RailUnavailableError';
  constructor(message: string, options: X402RailsErrorOptions & { rail?: string } = {}) {
    super(errorCodes.RAIL_UNAVAILABLE, message, {
      ...options,
      status: options.status ?? 503,
      details: { rail: options.rail, ...options.details },
    });
  }
}

/**
 * A verified payment the server cannot take right now (payer screening unreachable, the rail's circuit
 * breaker open): 503 with Retry-After; nothing was served or settled, the same payment may be sent again later.
 */
export class PaymentDeferredError extends X402RailsError {
  override name = 'PaymentDeferredError';
  readonly reason: string;
  constructor(reason: string, message: string, code: ErrorCode = errorCodes.RISK_BREAKER_OPEN) {
    super(code, message, { status: 503, details: { reason } });
    this.reason = reason;
  }
}

/** Settlement was broadcast but its outcome is not known yet; `reference` identifies it for reconciliation. */
export class SettlementPendingError extends X402RailsError {
  override name = 'SettlementPendingError';
  readonly reference: string;
  constructor(reference: string, message: string, options: Omit<X402RailsErrorOptions, 'status'> = {}) {
    super(errorCodes.SETTLEMENT_PENDING, message, {
      ...options,
      status: 503,
      details: { reference, ...options.details },
    });
    this.reference = reference;
  }
}

/** Why one offer of a 402 challenge was not taken. */
export type OfferRejection = {
  /** Index in the server's accepts list. */
  index: number;
  scheme: string;
  /** `extra.assetTransferMethod` of the offer when it names one (`eip2612`, `permit2`): tells apart offers of one scheme. */
  assetTransferMethod?: string;
  network: string;
  asset: string;
  amount: string;
  /** Machine-readable reason, e.g. `no_adapter`, `network_denied`, `over_request_cap`. */
  reason: string;
  /** What to change to accept it. */
  message: string;
};

/** The client could not take any offer of a challenge; nothing was paid. `rejections` says why, per offer. */
export class NoAcceptableOfferError extends X402RailsError {
  override name = 'NoAcceptableOfferError';
  readonly rejections: OfferRejection[];
  constructor(rejections: OfferRejection[], url: string) {
    const lines = rejections.map(
      (r) =>
        `  #${r.index} ${r.scheme}${r.assetTransferMethod === undefined ? '' : `/${r.assetTransferMethod}`} ${r.network} ${r.amount} ${r.asset}: ${r.reason} (${r.message})`,
    );
    super(
      errorCodes.NO_ACCEPTABLE_OFFER,
      `No payment offer from ${url} is acceptable; nothing was paid. Offers:\n${lines.join('\n') || '  (the server offered none)'}`,
      { status: 402, details: { url, rejections } },
    );
    this.rejections = rejections;
  }
}

/** A spending budget would be exceeded; nothing was paid. */
export class BudgetExceededError extends X402RailsError {
  override name = 'BudgetExceededError';
  constructor(
    message: string,
    details: { budget: string; limit: string; spent: string; requested: string; asset: string },
  ) {
    super(errorCodes.BUDGET_EXCEEDED, message, { status: 402, details });
  }
}

/** What a client knows of a payment it sent and the server did not honour. */
export type RefusedPaymentDetails = {
  origin: string;
  url: string;
  /** HTTP status of the answer to the paid request (0 when no answer came). */
  status: number;
  rail: string;
  network: string;
  asset: string;
  amount: string;
  /** The server's reason code, when it gave one (`errorReason`, or the challenge's `error`). */
  reason?: string;
};

/**
 * A payment left the wallet (its credential was sent, or the rail paid on create) and the server did not answer
 * 2xx. The signed payment may have been settled, or may still be settled while its authorization is valid, so
 * the client's budget keeps it spent and the origin gets a strike (see `createOriginStrikes`). Reported as
 * `PaymentOutcome.refused` on the returned response, or thrown when no answer came.
 */
export class PaymentRefusedByServerError extends X402RailsError {
  override name = 'PaymentRefusedByServerError';
  readonly refused: RefusedPaymentDetails;
  constructor(refused: RefusedPaymentDetails, options: { cause?: unknown } = {}) {
    const answer =
      refused.status === 0
        ? 'sent no answer'
        : `answered ${refused.status}${refused.reason ? ` (${refused.reason})` : ''}`;
    super(
      errorCodes.PAYMENT_REFUSED_BY_SERVER,
      `Paid ${refused.amount} ${refused.asset} on ${refused.network} to ${refused.origin}, which ${answer} instead of serving. The payment counts against the budget (it may have been settled, or be settled later); further payments to ${refused.origin} are refused until you reset its strikes.`,
      { status: 402, details: { ...refused }, ...(options.cause === undefined ? {} : { cause: options.cause }) },
    );
    this.refused = refused;
  }
}

/** An origin took payments without serving (strikes, see `createOriginStrikes`); nothing was paid this time. */
export class OriginSuspendedError extends X402RailsError {
  override name = 'OriginSuspendedError';
  readonly origin: string;
  constructor(origin: string, details: { strikes: number; limit: number; lastStatus: number; lastReason?: string }) {
    super(
      errorCodes.ORIGIN_SUSPENDED,
      `Not paying ${origin}: it took ${details.strikes} payment(s) without serving (last answer ${details.lastStatus}${details.lastReason ? `, ${details.lastReason}` : ''}); nothing was paid. Reset its strikes (strikes.reset(origin)) once you trust it again.`,
      { status: 402, details: { origin, ...details } },
    );
    this.origin = origin;
  }
}

/** The library was configured wrongly (a programming error on the caller's side). */
export class ConfigurationError extends X402RailsError {
  override name = 'ConfigurationError';
  /** `options.code` narrows the default `CONFIG__INVALID` to a specific `CONFIG__…` code. */
  constructor(message: string, options: Omit<X402RailsErrorOptions, 'status'> & { code?: ErrorCode } = {}) {
    const { code, ...rest } = options;
    super(code ?? errorCodes.CONFIG_INVALID, message, { ...rest, status: 500 });
  }
}

/** A receipt is missing, malformed, or its signature does not verify. */
export class ReceiptInvalidError extends X402RailsError {
  override name = 'ReceiptInvalidError';
  constructor(message: string, options: Omit<X402RailsErrorOptions, 'status'> = {}) {
    super(errorCodes.RECEIPT_INVALID, message, { ...options, status: 502 });
  }
}
