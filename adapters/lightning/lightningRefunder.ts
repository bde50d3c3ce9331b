import { createHash } from 'node:crypto';
import type { AuthenticatedLnd } from 'ln-service';
import { PaymentInvalidError } from '../../src/index';
import { payInvoice } from './payInvoice';

/** Parameters of {@link lightningRefunder}. */
export type LightningRefunderParameters = {
  /** The server's node (the one the deposits were paid to). */
  lnd: AuthenticatedLnd;
  /** Most routing fee per refund, msat (default 1% rounded up, at least 1 sat). */
  maxFeeMsat?: bigint;
  /** Clock (default `Date.now`). */
  now?: () => number;
};

/** What a refund asks (structurally the metering extension's RefundRequest). */
type Refund = { amount: bigint; destination?: string };
type Refunded = { status: 'sent'; reference: string } | { status: 'refused'; reason: string; message: string };

/**
 * Metered usage refunds on Lightning: the client supplies a BOLT11 invoice for exactly the unused msat
 * (`X402-Metering-Refund-To` on close), and the server's node pays it. An invoice for another amount, an
 * expired or undecodable one, or a payment the network refused is `refused` (nothing paid: the client may
 * close again with another invoice). Answers the payment hash as the refund's reference.
 *
 * @example
 * const refunds = { 'lightning-l402': lightningRefunder({ lnd: serverLnd }) };
 */
export function lightningRefunder(parameters: LightningRefunderParameters): {
  readonly needsDestination: true;
  refund(request: Refund): Promise<Refunded>;
} {
  return {
    needsDestination: true,
    async refund(r) {
      if (r.destination === undefined)
        return {
          status: 'refused',
          reason: 'invalid_invoice',
          message: 'A Lightning refund needs an invoice from the client.',
        };
      try {
        const paid = await payInvoice({
          lnd: parameters.lnd,
          invoice: r.destination,
          amountMsat: r.amount,
          now: (parameters.now ?? Date.now)(),
          ...(parameters.maxFeeMsat !== undefined ? { maxFeeMsat: parameters.maxFeeMsat } : {}),
        });
        return {
          status: 'sent',
          reference: createHash('sha256').update(Buffer.from(paid.preimage, 'hex')).digest('hex'),
        };
      } catch (error) {
        if (error instanceof PaymentInvalidError)
          return { status: 'refused', reason: error.reason, message: error.message };
        throw error;
      }
    },
  };
}
