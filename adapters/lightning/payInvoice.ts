import { decodePaymentRequest, pay, type AuthenticatedLnd, type DecodePaymentRequestResult } from 'ln-service';
import { PaymentInvalidError, RailUnavailableError } from '../../src/index';
import { LIGHTNING_RAIL_ID } from './invoiceState';
import { connectionErrorOf, isCertificateFailure, isUnreachable, lndFailureOf, type LndFailure } from './lndErrors';

/** What the payer expects of an invoice before paying it. */
export type PayInvoiceParameters = {
  lnd: AuthenticatedLnd;
  /** BOLT11 payment request. */
  invoice: string;
  /** Exact amount the invoice must ask, msat, when known (any-amount invoices are refused either way). */
  amountMsat?: bigint;
  /** Payment hash the invoice must carry (hex), when known. */
  paymentHash?: string;
  /** Node the invoice must pay (hex public key), when known. */
  destination?: string;
  /** Most routing fee to pay, msat (default {@link defaultMaxFeeMsat} of the amount). */
  maxFeeMsat?: bigint;
  /** Most the payer pays for one invoice, msat. */
  maxAmountMsat?: bigint;
  /** Current time, ms. */
  now: number;
};

/** Return type of {@link payInvoice}. */
export type PayInvoiceReturnType = { preimage: string; amountMsat: bigint; feeMsat: bigint };

/** Default routing-fee cap for an amount: 1% rounded up, at least 1 sat. */
export function defaultMaxFeeMsat(amountMsat: bigint): bigint {
  const onePercent = (amountMsat + 99n) / 100n;
  return onePercent > 1_000n ? onePercent : 1_000n;
}

/** Reasons {@link payInvoice} refuses or fails, as PaymentInvalidError reasons. */
export type PayInvoiceFailureReason =
  | 'invalid_invoice'
  | 'amount_mismatch'
  | 'invoice_mismatch'
  | 'payee_mismatch'
  | 'invoice_expired'
  | 'over_max_amount'
  | 'insufficient_balance'
  | 'no_route'
  | 'payment_rejected'
  | 'invoice_already_paid'
  | 'payment_failed';

const FAILURES: Record<string, PayInvoiceFailureReason> = {
  InsufficientBalanceToAttemptPayment: 'insufficient_balance',
  PaymentPathfindingFailedToFindPossibleRoute: 'no_route',
  FailedToFindPayableRouteToDestination: 'no_route',
  PaymentAttemptsTimedOut: 'no_route',
  PaymentRejectedByDestination: 'payment_rejected',
};
const GRPC_ALREADY_EXISTS = 6;

function refuse(
  reason: PayInvoiceFailureReason,
  message: string,
  details: Record<string, unknown> = {},
): PaymentInvalidError {
  return new PaymentInvalidError(reason, message, { details: { rail: LIGHTNING_RAIL_ID, ...details } });
}

/**
 * Decodes an invoice on the payer's node, checks it is exactly what was offered, and pays it under the fee
 * cap. Returns the preimage (hex). Throws PaymentInvalidError (nothing was paid) for an invoice that is not
 * as offered or a payment the network refused (e.g. `insufficient_balance`), RailUnavailableError when the
 * payer's node cannot be reached.
 *
 * @example const { preimage } = await payInvoice({ lnd, invoice, amountMsat: 21_000n, maxFeeMsat: 1_000n, now: Date.now() });
 */
export async function payInvoice(p: PayInvoiceParameters): Promise<PayInvoiceReturnType> {
  let decoded: DecodePaymentRequestResult;
  try {
    decoded = await decodePaymentRequest({ lnd: p.lnd, request: p.invoice });
  } catch (error) {
    const failure = lndFailureOf(error);
    if (isUnreachable(failure)) throw unavailable(error, failure);
    throw refuse(
      'invalid_invoice',
      'The offer carries an invoice the payer node cannot decode (wrong network or malformed); nothing was paid.',
      { lnd: failure.name },
    );
  }
  const amountMsat = BigInt(decoded.mtokens);
  if (amountMsat === 0n)
    throw refuse(
      'invalid_invoice',
      'The invoice names no amount; only invoices for an exact price are paid. Nothing was paid.',
    );
  if (p.amountMsat !== undefined && amountMsat !== p.amountMsat) {
    throw refuse(
      'amount_mismatch',
      `The invoice asks ${decoded.mtokens} msat but the offer says ${p.amountMsat}; nothing was paid.`,
    );
  }
  if (p.paymentHash !== undefined && decoded.id !== p.paymentHash.toLowerCase())
    throw refuse('invoice_mismatch', 'The invoice is for another payment hash than the offer names; nothing was paid.');
  if (p.destination !== undefined && decoded.destination !== p.destination.toLowerCase())
    throw refuse('payee_mismatch', 'The invoice pays another node than the offer names; nothing was paid.');
  if (Date.parse(decoded.expires_at) <= p.now)
    throw refuse('invoice_expired', 'The invoice has expired; ask for a fresh challenge. Nothing was paid.');
  if (p.maxAmountMsat !== undefined && amountMsat > p.maxAmountMsat) {
    throw refuse(
      'over_max_amount',
      `The invoice asks ${amountMsat} msat, above this client's maximum of ${p.maxAmountMsat} msat; nothing was paid.`,
    );
  }
  try {
    const maxFee = p.maxFeeMsat ?? defaultMaxFeeMsat(amountMsat);
    const paid = await pay({ lnd: p.lnd, request: p.invoice, max_fee_mtokens: maxFee.toString() });
    return { preimage: paid.secret, amountMsat, feeMsat: BigInt(paid.fee_mtokens) };
  } catch (error) {
    const failure = lndFailureOf(error);
    // The node went away while paying: the payment may be in flight, so this is no "nothing was paid".
    if (isUnreachable(failure))
      throw new RailUnavailableError(
        "The payer's Lightning node stopped answering while paying; the payment may be in flight. Check the node's payments before paying again.",
        { rail: LIGHTNING_RAIL_ID, details: { lnd: failure.name, mayHavePaid: true }, cause: error },
      );
    if (failure.grpcCode === GRPC_ALREADY_EXISTS)
      throw refuse(
        'invoice_already_paid',
        'This invoice was already paid by this node; reuse its preimage or ask for a fresh challenge.',
      );
    const reason = FAILURES[failure.name] ?? 'payment_failed';
    throw refuse(
      reason,
      `The Lightning payment failed (${failure.name}${failure.details ? `: ${failure.details}` : ''}); nothing was paid.`,
      { lnd: failure.name },
    );
  }
}

function unavailable(cause: unknown, failure: LndFailure): RailUnavailableError {
  const details = { rail: LIGHTNING_RAIL_ID, details: { lnd: failure.name }, cause };
  const why = connectionErrorOf(failure);
  if (isCertificateFailure(failure)) {
    return new RailUnavailableError(
      `The payer's Lightning node rejected the TLS connection: its certificate is not the configured one (${why ?? 'certificate mismatch'}); configure the node's current tls.cert. Nothing was paid.`,
      details,
    );
  }
  return new RailUnavailableError(
    `The payer's Lightning node could not be reached${why === undefined ? '' : ` (${why})`}; nothing was paid. Try again shortly.`,
    details,
  );
}
