import type { Receipt, SignedReceipt } from '../core/receipt/receipt';
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
  /** The server's settlement answer, when it sent one. */
  settleResponse?: SettleResponse;
  /**
   * The receipt: verified against the issuer's JWKS when the server signed one (`receiptSource: 'server'`), or
   * built by the client from a plain x402 server's SettleResponse (`'settle-response'`, unsigned; its
   * `reference` is the on-chain proof).
   */
  receipt?: Receipt;
  /** Where `receipt` comes from. */
  receiptSource?: 'server' | 'settle-response';
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
