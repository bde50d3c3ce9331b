import { getInvoice, type AuthenticatedLnd } from 'ln-service';
import { RailUnavailableError } from '../../src/index';
import { MacaroonFormatError, macaroonFromBase64, verifyMacaroonSignature } from '../../src/protocol/macaroon';
import type { InvoiceStatus } from '../../src/paywall-ui/invoiceStatus';
import { decodeL402Identifier } from './identifier';
import { LIGHTNING_RAIL_ID } from './invoiceState';
import { lndFailureOf } from './lndErrors';
import { withinNodeTimeout } from './nodeTimeout';
import { deriveTokenRootKey } from './token';

/** Parameters of {@link readInvoiceStatus}. */
export type ReadInvoiceStatusParameters = {
  lnd: AuthenticatedLnd;
  rootKey: Uint8Array;
  macaroon: string;
  now: number;
  timeoutMs: number;
};

const GRPC_NOT_FOUND = 5;

/**
 * The state of the invoice an L402 macaroon of ours was minted for, with its preimage once paid (for the
 * paywall page, see `x402-rails/paywall`). The macaroon's signature is checked first (an HMAC, no node call),
 * so a stranger who knows only the payment hash, or sends made-up macaroons, gets `invalid` and never the
 * preimage nor a node lookup. Throws RailUnavailableError when the node cannot answer.
 *
 * @example const status = await readInvoiceStatus({ lnd, rootKey, macaroon, now: Date.now(), timeoutMs: 5_000 });
 */
export async function readInvoiceStatus(p: ReadInvoiceStatusParameters): Promise<InvoiceStatus> {
  let identifier: ReturnType<typeof decodeL402Identifier>;
  try {
    const macaroon = macaroonFromBase64(p.macaroon);
    identifier = decodeL402Identifier(macaroon.identifier);
    if (!identifier || !verifyMacaroonSignature(macaroon, deriveTokenRootKey(p.rootKey, identifier.tokenId)))
      return { state: 'invalid' };
  } catch (error) {
    if (error instanceof MacaroonFormatError) return { state: 'invalid' };
    throw error;
  }
  try {
    const invoice = await withinNodeTimeout(
      getInvoice({ lnd: p.lnd, id: identifier.paymentHash }),
      p.timeoutMs,
      'LookupInvoice',
    );
    if (invoice.is_confirmed) return { state: 'paid', preimage: invoice.secret };
    if (invoice.is_canceled || Date.parse(invoice.expires_at) <= p.now) return { state: 'expired' };
    return { state: 'open' };
  } catch (error) {
    const failure = lndFailureOf(error);
    if (failure.grpcCode === GRPC_NOT_FOUND) return { state: 'unknown' };
    throw new RailUnavailableError('The Lightning node could not look the invoice up; try again shortly.', {
      rail: LIGHTNING_RAIL_ID,
      details: { lnd: failure.name, grpcCode: failure.grpcCode },
      cause: error,
    });
  }
}
