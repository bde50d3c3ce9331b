import { hashCanonical } from '../core/canonical';
import type { RequestBinding } from '../core/rail';
import type { Receipt } from '../core/receipt/receipt';
import type { PaymentRequirements, SettleResponse } from '../protocol/schemas';

/** What the client knows of the payment a plain x402 server settled. */
export type SettledPayment = {
  rail: string;
  offer: PaymentRequirements;
  settle: SettleResponse;
  /** The request sent, as the server binds it (see `requestBinding`). */
  request: RequestBinding;
  now: number;
};

/**
 * The receipt of a payment to a server that sends only the x402 SettleResponse (an official x402 server, a v1
 * server): the same {@link Receipt} format, built by the client from the offer it paid, the SettleResponse and
 * the request it sent. It is not signed by anyone (`PaymentOutcome.receiptSource` says so); its `reference`
 * (the transaction) is what proves it, on chain (`PaymentOutcome.receiptCheck` says whether it was checked). Undefined unless the settlement succeeded with a reference.
 *
 * @example const receipt = receiptFromSettleResponse({ rail, offer, settle, request, now: Date.now() });
 */
export function receiptFromSettleResponse(p: SettledPayment): Receipt | undefined {
  if (!p.settle.success || !p.settle.transaction) return undefined;
  const at = new Date(p.now).toISOString();
  return {
    v: 1,
    id: `settle:${p.settle.network}:${p.settle.transaction}`.slice(0, 128),
    issuer: new URL(p.request.url).origin,
    rail: p.rail,
    scheme: p.offer.scheme,
    network: p.offer.network,
    asset: p.offer.asset,
    // An `upto` settlement states what it charged (at most the offer's maximum); an exact one, the offer's amount.
    ...chargedOf(p),
    payer: p.settle.payer ?? '',
    payee: p.offer.payTo,
    reference: p.settle.transaction,
    request: { method: p.request.method, url: p.request.url, bodyHash: p.request.bodyHash },
    requirementsHash: hashCanonical(p.offer),
    challenge: '',
    status: 'settled',
    issuedAt: at,
    settledAt: at,
  };
}

/** The amount a SettleResponse states it charged when that is less than the offer (x402 `upto`), with the maximum. */
function chargedOf(p: SettledPayment): { amount: string; maxAmount?: string } {
  const stated = p.settle.amount;
  if (stated === undefined || stated === p.offer.amount || BigInt(stated) > BigInt(p.offer.amount))
    return { amount: p.offer.amount };
  return { amount: stated, maxAmount: p.offer.amount };
}
