/**
 * The error base of every layer (it lives in the protocol layer, the lowest, so that wire codecs throw the same
 * errors as the core without depending on it; src/core/errors.ts re-exports it with the payment errors).
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

/**
 * True for any error x402-rails threw on purpose; with `code`, only for an error of that code.
 *
 * @example
 * catch (e) { if (isX402RailsError(e, errorCodes.BUDGET_EXCEEDED)) showBudget(e.details) }
 */
export function isX402RailsError(error: unknown, code?: ErrorCode): error is X402RailsError {
  return error instanceof X402RailsError && (code === undefined || error.code === code);
}
