/**
 * One error base class with stable, never-renamed codes. Every public failure of x402-rails is an
 * `X402RailsError`: `code` for machines, `message` that says what to do, `details` with typed context,
 * `cause` for the chain, and `status`, the HTTP status a server should answer with.
 */

/** Stable error codes. Codes are never renamed or reused; new ones are only added. */
export const errorCodes = {
  // wire / protocol (400)
  HEADER_TOO_LARGE: 'PROTOCOL__HEADER__TOO_LARGE',
  HEADER_BAD_BASE64: 'PROTOCOL__HEADER__BAD_BASE64',
  HEADER_BAD_JSON: 'PROTOCOL__HEADER__BAD_JSON',
  HEADER_TOO_DEEP: 'PROTOCOL__HEADER__TOO_DEEP',
  HEADER_SCHEMA: 'PROTOCOL__HEADER__SCHEMA_MISMATCH',
  UNSUPPORTED_VERSION: 'PROTOCOL__VERSION__UNSUPPORTED',
  INVALID_CAIP: 'PROTOCOL__CAIP__INVALID',
  INVALID_AMOUNT: 'PROTOCOL__AMOUNT__INVALID',
  BODY_TOO_LARGE: 'PROTOCOL__BODY__TOO_LARGE',
  // serialized macaroons (400), the reasons of MacaroonFormatError
  MACAROON_EMPTY: 'MACAROON__FORMAT__EMPTY',
  MACAROON_TOO_LARGE: 'MACAROON__FORMAT__TOO_LARGE',
  MACAROON_UNSUPPORTED_VERSION: 'MACAROON__FORMAT__UNSUPPORTED_VERSION',
  MACAROON_TRUNCATED: 'MACAROON__FORMAT__TRUNCATED',
  MACAROON_BAD_VARINT: 'MACAROON__FORMAT__BAD_VARINT',
  MACAROON_UNKNOWN_FIELD: 'MACAROON__FORMAT__UNKNOWN_FIELD',
  MACAROON_UNEXPECTED_FIELD: 'MACAROON__FORMAT__UNEXPECTED_FIELD',
  MACAROON_TOO_MANY_CAVEATS: 'MACAROON__FORMAT__TOO_MANY_CAVEATS',
  MACAROON_BAD_SIGNATURE_LENGTH: 'MACAROON__FORMAT__BAD_SIGNATURE_LENGTH',
  MACAROON_BAD_UTF8: 'MACAROON__FORMAT__BAD_UTF8',
  MACAROON_TRAILING_DATA: 'MACAROON__FORMAT__TRAILING_DATA',
  MACAROON_BAD_ENCODING: 'MACAROON__FORMAT__BAD_ENCODING',
  // payment rejected (402)
  PAYMENT_INVALID: 'PAYMENT__INVALID',
  /** A paid request that conflicts with how its payment was already used (409): claim lost, replay refused. */
  PAYMENT_CONFLICT: 'PAYMENT__CONFLICT',
  // client-side negotiation and policy
  NO_ACCEPTABLE_OFFER: 'CLIENT__NEGOTIATION__NO_ACCEPTABLE_OFFER',
  BUDGET_EXCEEDED: 'CLIENT__BUDGET__EXCEEDED',
  PAYMENT_REFUSED_BY_SERVER: 'CLIENT__PAYMENT__REFUSED_BY_SERVER',
  ORIGIN_SUSPENDED: 'CLIENT__ORIGIN__SUSPENDED',
  NOT_A_CHALLENGE: 'CLIENT__RESPONSE__NOT_A_CHALLENGE',
  // receipts
  RECEIPT_INVALID: 'RECEIPT__INVALID',
  RECEIPT_MISSING: 'RECEIPT__MISSING',
  // infrastructure (502/503)
  RAIL_UNAVAILABLE: 'INFRA__RAIL__UNAVAILABLE',
  SETTLEMENT_PENDING: 'INFRA__SETTLEMENT__PENDING',
  // facilitator service
  FACILITATOR_AUTH_REQUIRED: 'FACILITATOR__AUTH__REQUIRED',
  // configuration / programming errors
  CONFIG_INVALID: 'CONFIG__INVALID',
  /** An EVM rail's configured token name/version differ from the token's EIP-712 domain on chain. */
  CONFIG_EIP712_DOMAIN_MISMATCH: 'CONFIG__EIP712__DOMAIN_MISMATCH',
  /** A facilitator without API keys was asked to listen beyond loopback without `allowOpen`. */
  CONFIG_OPEN_FACILITATOR: 'CONFIG__FACILITATOR__OPEN',
  // capability credentials
  CAPABILITY_MALFORMED: 'CAPABILITY__TOKEN__MALFORMED',
  CAPABILITY_RATE_LIMITED: 'CAPABILITY__RATE__LIMITED',
  // metered usage
  METERING_MALFORMED: 'METERING__SESSION__MALFORMED',
  METERING_CLOSE_PENDING: 'METERING__CLOSE__PENDING',
  // risk controls
  RISK_SCREENING_UNAVAILABLE: 'RISK__SCREENING__UNAVAILABLE',
  RISK_BREAKER_OPEN: 'RISK__BREAKER__OPEN',
  // command-line tool (x402-rails bin)
  CLI_USAGE: 'CLI__USAGE__INVALID',
  CLI_FAILED: 'CLI__COMMAND__FAILED',
} as const;

/** A stable error code. */
export type ErrorCode = (typeof errorCodes)[keyof typeof errorCodes];

/** Options shared by every x402-rails error. */
export type X402RailsErrorOptions = {
  /** Typed, non-secret context for machines and logs. */
  details?: Record<string, unknown>;
  /** The underlying error. */
  cause?: unknown;
  /** HTTP status a server should answer with when this error ends a request. */
  status?: number;
};

/**
 * Base class of every error x402-rails throws on purpose.
 *
 * @example
 * try { await pay(url) } catch (e) { if (e instanceof X402RailsError && e.code === errorCodes.BUDGET_EXCEEDED) … }
 */
export class X402RailsError extends Error {
  override name = 'X402RailsError';
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Typed context (never secrets). */
  readonly details: Record<string, unknown>;
  /** HTTP status to answer with when this error ends a request. */
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: X402RailsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.status = options.status ?? 500;
  }
}

/** Malformed input from the other side of the wire: answer 400. */
export class MalformedInputError extends X402RailsError {
  override name = 'MalformedInputError';
  constructor(code: ErrorCode, message: string, options: Omit<X402RailsErrorOptions, 'status'> = {}) {
    super(code, message, { ...options, status: 400 });
  }
}

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

/** True for any error x402-rails threw on purpose. */
export function isX402RailsError(error: unknown): error is X402RailsError {
  return error instanceof X402RailsError;
}
