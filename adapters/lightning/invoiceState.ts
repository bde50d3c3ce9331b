import { getInvoice, type AuthenticatedLnd, type GetInvoiceResult } from 'ln-service';
import { RailUnavailableError } from '../../src/index';
import { lndFailureOf } from './lndErrors';
import { DEFAULT_NODE_TIMEOUT_MS, withinNodeTimeout } from './nodeTimeout';

/** The state of one of our invoices as the node reports it. */
export type InvoiceState =
  | { state: 'settled'; receivedMsat: bigint }
  | { state: 'open' }
  | { state: 'expired' }
  | { state: 'canceled' }
  | { state: 'unknown' };

/** Rail id used in errors. */
export const LIGHTNING_RAIL_ID = 'lightning-l402';

const GRPC_NOT_FOUND = 5;

/**
 * Looks an invoice up on our node (ln-service `getInvoice`, lnd `LookupInvoice`). Settled invoices are
 * final, so callers may cache them. Throws RailUnavailableError when the node cannot answer, or does not
 * within `timeoutMs`.
 *
 * @example const s = await readInvoiceState(lnd, paymentHash, Date.now());
 */
export async function readInvoiceState(
  lnd: AuthenticatedLnd,
  paymentHash: string,
  now: number,
  timeoutMs = DEFAULT_NODE_TIMEOUT_MS,
): Promise<InvoiceState> {
  let invoice: GetInvoiceResult;
  try {
    invoice = await withinNodeTimeout(getInvoice({ lnd, id: paymentHash }), timeoutMs, 'LookupInvoice');
  } catch (error) {
    const failure = lndFailureOf(error);
    if (failure.grpcCode === GRPC_NOT_FOUND) return { state: 'unknown' };
    throw new RailUnavailableError('The Lightning node could not look the invoice up; try again shortly.', {
      rail: LIGHTNING_RAIL_ID,
      details: { lnd: failure.name, grpcCode: failure.grpcCode },
      cause: error,
    });
  }
  if (invoice.is_confirmed) return { state: 'settled', receivedMsat: BigInt(invoice.received_mtokens) };
  if (invoice.is_canceled) return { state: 'canceled' };
  if (Date.parse(invoice.expires_at) <= now) return { state: 'expired' };
  return { state: 'open' };
}

/** Maps a non-settled (or short) invoice to a reason code and message, or undefined when it pays `amountMsat`. */
export function invoiceProblem(s: InvoiceState, amountMsat: bigint): { reason: string; message: string } | undefined {
  switch (s.state) {
    case 'settled':
      return s.receivedMsat >= amountMsat
        ? undefined
        : {
            reason: 'invoice_underpaid',
            message: `The invoice received ${s.receivedMsat} msat, less than the ${amountMsat} msat price.`,
          };
    case 'open':
      return {
        reason: 'invoice_unpaid',
        message: 'The invoice of this token has not been paid. Pay it, then retry with its preimage.',
      };
    case 'expired':
    case 'canceled':
      return { reason: 'invoice_expired', message: 'The invoice of this token expired unpaid. Pay a fresh challenge.' };
    case 'unknown':
      return {
        reason: 'invoice_unknown',
        message: "This server's node does not know the token's invoice. Pay a fresh challenge.",
      };
  }
}
