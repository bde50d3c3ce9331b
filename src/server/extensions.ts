import type { RequestBinding } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { CompiledRoute } from './routes';

/** What a paywall extension sees of a request on a paid route. */
export type ExtensionRequestContext = { request: Request; route: CompiledRoute; binding: RequestBinding; now: number };

/**
 * Before payment, an extension may also serve the request itself (the route's handler), or answer the
 * route's normal 402 challenge (fresh offers, `error` + `x402-rails/rejection` extension set when a
 * rejection is given) so that it can refuse a credential and still let the client pay.
 */
export type ExtensionBeforeContext = ExtensionRequestContext & {
  serve(): Promise<Response>;
  challenge(rejection?: { reason: string; message: string }): Promise<Response>;
};

/** What an extension sees once a request has been paid and served. */
export type ExtensionPaidContext = ExtensionRequestContext & { response: Response; receipt: SignedReceipt; replayed: boolean };

/**
 * A paywall extension: a seam for features layered on the payment flow (capability credentials bought with
 * one payment, metering, risk controls) without touching the rails.
 *
 * - `beforePayment` runs on every request to a paid route before any payment is looked at; answering a
 *   Response ends the request there (e.g. a valid capability token serves the request without payment,
 *   a denied payer is refused). It may also pass a (possibly rewritten) request on by answering undefined.
 * - `afterPaid` runs when a paid request was served (its receipt attached) and may return a decorated
 *   response (e.g. with a capability token header).
 */
export type PaywallExtension = {
  readonly name: string;
  beforePayment?(ctx: ExtensionBeforeContext): Promise<Response | undefined>;
  afterPaid?(ctx: ExtensionPaidContext): Promise<Response>;
};
