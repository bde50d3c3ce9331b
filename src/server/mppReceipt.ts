import type { SignedReceipt } from '../core/receipt/receipt';
import { MPP_SIGNED_RECEIPT_KEY, serializeMppReceipt, type MppReceipt } from '../protocol/mpp/mppReceipt';
import { mppHeaderNames } from '../protocol/mpp/mppChallenge';

/**
 * The MPP receipt of a settled payment: method, the challenge it answered (`challengeId`, which the Lightning charge
 * draft requires and mppx's MCP receipts carry), settlement reference, time, and our signed receipt beside them.
 */
export function mppReceiptOf(receipt: SignedReceipt, method: string): MppReceipt {
  return {
    method,
    challengeId: receipt.challenge,
    reference: receipt.reference,
    status: 'success',
    timestamp: receipt.settledAt ?? receipt.issuedAt,
    [MPP_SIGNED_RECEIPT_KEY]: receipt,
  };
}

/** Returns `response` with `Payment-Receipt` set (its PAYMENT-RESPONSE, with the same signed receipt, is kept). */
export function withMppReceipt(response: Response, receipt: SignedReceipt, method: string): Response {
  const headers = new Headers(response.headers);
  headers.set(mppHeaderNames.paymentReceipt, serializeMppReceipt(mppReceiptOf(receipt, method)));
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
