import type { PaymentRefusedByServerError } from '../core/errors';
import type { Receipt, SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptCheck } from './checkReceipt';
import type { SettleResponse } from '../protocol/schemas';
import type { PaymentRequirements } from '../protocol/schemas';

/** What a paid request produced, attached to its response by `payingFetch`. */
export type PaymentOutcome = {
  /** Rail adapter id that paid. */
  rail: string;
  /** The offer paid. */
  offer: PaymentRequirements;
  /** x402 version spoken with the server. */
  x402Version: 1 | 2;
  /** The protocol the payment was made in: x402 (PAYMENT-SIGNATURE) or MPP (`Authorization: Payment`). */
  protocol?: 'x402' | 'mpp';
  /** The server's settlement answer, when it sent one. */
  settleResponse?: SettleResponse;
  /**
   * The receipt: the server's signed receipt, verified against the origin's JWKS and bound to this request and
   * offer (`receiptSource: 'server'`), or built by the client from a plain x402 server's SettleResponse
   * (`'settle-response'`, signed by nobody; its `reference` is the on-chain proof). Absent when a check failed
   * (`receiptError` says why).
   */
  receipt?: Receipt;
  /** Where `receipt` comes from. */
  receiptSource?: 'server' | 'settle-response';
  /**
   * What was checked: `signature` (issuer's signature and bindings), `on_chain` (the settlement transaction moved
   * the amount from this wallet to the payee), `unchecked` (built from the server's answer, nothing checked).
   */
  receiptCheck?: ReceiptCheck;
  /**
   * Set when the payment left the wallet but the server answered non-2xx: the budget keeps the payment and the
   * origin got a strike.
   */
  refused?: PaymentRefusedByServerError;
  /** The receipt as signed, for storage or forwarding. */
  signedReceipt?: SignedReceipt;
  /** Why a receipt that was sent did not verify. */
  receiptError?: Error;
  /** Milliseconds from the 402 to the paid response. */
  elapsedMs: number;
};

const outcomes = new WeakMap<Response, PaymentOutcome>();

/** Attaches an outcome to a response (used by payingFetch). */
export function attachOutcome(response: Response, outcome: PaymentOutcome): void {
  outcomes.set(response, outcome);
}

/**
 * The payment outcome of a response returned by `payingFetch`, or undefined when the request was free.
 *
 * @example
 * const res = await pay('https://api.example.com/report');
 * console.log(receiptOf(res)?.receipt?.reference);
 */
export function receiptOf(response: Response): PaymentOutcome | undefined {
  return outcomes.get(response);
}
