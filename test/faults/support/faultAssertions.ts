/**
 * What every fault test checks, on any rail: a paid request under a fault is answered 502/503 with a clear
 * code (or 503 `settlement_pending` with the reference), never the handler's body without a receipt; a
 * paid answer carries a receipt that verifies against the paywall's key.
 */
import { expect } from 'vitest';
import {
  RECEIPT_EXTENSION_KEY,
  SignedReceiptSchema,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  errorCodes,
  verifyReceipt,
  type ClientRail,
  type FetchLike,
  type Paywall,
  type PaymentRequirements,
  type Receipt,
  type Wallet,
} from '../../../src/index';

/** The marker the fault tests' handlers put in their body: seeing it means the service was delivered. */
export const SERVED = 'served-by-handler';

/** A handler that counts its runs and answers {@link SERVED}. */
export function countingHandler(): { runs: number; handler: (request: Request) => Promise<Response> } {
  const state = {
    runs: 0,
    handler: async () => {
      state.runs += 1;
      return Response.json({ marker: SERVED });
    },
  };
  return state;
}

/** One signed payment for `url`, kept so the test can send the very same payment again. */
export type PreparedPayment = {
  offer: PaymentRequirements;
  headers: Record<string, string>;
  send(): Promise<Response>;
};

/**
 * Asks `url` for its challenge, pays its first offer with `rail` and `wallet`, and returns the payment
 * header (sent by `send()`, as many times as the test likes).
 */
export async function preparePayment(
  fetch: FetchLike,
  url: string,
  rail: ClientRail,
  wallet: Wallet,
): Promise<PreparedPayment> {
  const unpaid = await fetch(url);
  expect(unpaid.status).toBe(402);
  const [offer] = decodePaymentRequiredHeader(unpaid.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
  if (!offer) throw new Error(`no offer from ${url}`);
  const payload = await rail.createPayment(offer, wallet, { resource: { url }, x402Version: 2, now: Date.now() });
  const headers = {
    'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, resource: { url }, accepted: offer, payload }),
  };
  return { offer, headers, send: () => fetch(url, { headers }) };
}

/** The JSON error body of a refused answer. */
type ErrorBody = { code?: string; reason?: string; details?: { reference?: string } };

/**
 * Asserts an infrastructure answer: 502 or 503, a stable code (`INFRA__RAIL__UNAVAILABLE` unless `code`
 * says otherwise), no receipt and not the handler's body. Answers the body.
 */
export async function expectUnavailable(
  response: Response,
  code: string = errorCodes.RAIL_UNAVAILABLE,
): Promise<ErrorBody> {
  const text = await response.text();
  expect(text).not.toContain(SERVED);
  expect(response.headers.get('PAYMENT-RESPONSE')).toBeNull();
  expect([502, 503], `status ${response.status}: ${text}`).toContain(response.status);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.code, text).toBe(code);
  return body;
}

/** Asserts 503 `settlement_pending` with a Retry-After and answers the settlement reference. */
export async function expectPending(response: Response): Promise<string> {
  const body = await expectUnavailable(response, errorCodes.SETTLEMENT_PENDING);
  expect(response.status).toBe(503);
  expect(response.headers.get('Retry-After')).not.toBeNull();
  expect(body.reason).toBe('settlement_pending');
  const reference = body.details?.reference;
  expect(typeof reference).toBe('string');
  return reference ?? '';
}

/** Asserts the handler's body with a receipt that verifies against the paywall's key; answers the receipt. */
export async function expectReceipt(response: Response, pw: Paywall): Promise<Receipt> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(text).toContain(SERVED);
  const settle = decodePaymentResponseHeader(response.headers.get('PAYMENT-RESPONSE') ?? '');
  expect(settle.success).toBe(true);
  const signed = SignedReceiptSchema.parse(settle.extensions?.[RECEIPT_EXTENSION_KEY]);
  const receipt = await verifyReceipt(signed, await pw.jwks());
  expect(receipt.status).toBe('settled');
  return receipt;
}
