import { randomUUID } from '../core/cryptoPrimitives';
import { hashCanonical } from '../core/canonical';
import type { RequestBinding, SettleResult } from '../core/rail';
import { RECEIPT_EXTENSION_KEY, type Receipt, type SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import { encodePaymentResponseHeader, exposedHeaders, headerNames } from '../protocol/headers';
import type { PaymentRequirements, SettleResponse } from '../protocol/schemas';

/** Everything a receipt is built from. */
export type IssueReceiptParameters = {
  signer: ReceiptSigner;
  issuer: string;
  railId: string;
  accepted: PaymentRequirements;
  settlement: Extract<SettleResult, { status: 'settled' }>;
  binding: RequestBinding;
  challengeId: string;
  now: number;
  /** The protocol the payment came in (named in the receipt). */
  protocol?: 'x402' | 'l402' | 'mpp';
};

/** Builds and signs the unified receipt of a settled payment. */
export function issueReceipt(p: IssueReceiptParameters): Promise<SignedReceipt> {
  const at = new Date(p.now).toISOString();
  const receipt: Receipt = {
    v: 1,
    id: randomUUID(),
    issuer: p.issuer,
    rail: p.railId,
    scheme: p.accepted.scheme,
    network: p.accepted.network,
    asset: p.accepted.asset,
    amount: p.settlement.amount,
    ...(p.settlement.amount !== p.accepted.amount ? { maxAmount: p.accepted.amount } : {}),
    payer: p.settlement.payer,
    payee: p.accepted.payTo,
    reference: p.settlement.reference,
    ...(p.settlement.proof !== undefined ? { proof: p.settlement.proof } : {}),
    request: { method: p.binding.method, url: p.binding.url, bodyHash: p.binding.bodyHash },
    requirementsHash: hashCanonical(p.accepted),
    challenge: p.challengeId,
    ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
    status: 'settled',
    issuedAt: at,
    settledAt: at,
  };
  return p.signer.sign(receipt);
}

/** The x402 SettleResponse carrying a signed receipt under `extensions`. */
export function settleResponseOf(receipt: SignedReceipt): SettleResponse {
  return {
    success: true,
    transaction: receipt.reference,
    network: receipt.network,
    payer: receipt.payer,
    amount: receipt.amount,
    extensions: { [RECEIPT_EXTENSION_KEY]: receipt },
  };
}

/** Returns `response` with PAYMENT-RESPONSE attached (body streamed through, not copied). */
export function withReceipt(response: Response, receipt: SignedReceipt): Response {
  const headers = new Headers(response.headers);
  headers.set(headerNames.paymentResponse, encodePaymentResponseHeader(settleResponseOf(receipt)));
  headers.set('Access-Control-Expose-Headers', exposedHeaders.join(', '));
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
