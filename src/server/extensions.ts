import type { ErrorCode } from '../core/errors';
import type { RailPayload, RequestBinding } from '../core/rail';
import type { PaymentRequirements } from '../protocol/schemas';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { PaywallEvent } from './paywall';
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

/**
 * A settled payment presented again, about to be served without a new settlement: an identical request the
 * store admitted as a replay (a resend after a lost answer), or a reusable credential (L402) re-checked.
 * `paymentId` and `receipt` name the payment; `serve()` runs the handler; `challenge()` answers the route's 402.
 */
export type ExtensionReplayContext = ExtensionBeforeContext & { paymentId: string; receipt: SignedReceipt };

/** What an extension sees of a 402 being built: the offers as sealed, in the server's order. */
export type ExtensionDeclareContext = {
  route: CompiledRoute;
  binding: RequestBinding;
  resource: { url: string; description?: string; mimeType?: string };
  accepts: PaymentRequirements[];
  now: number;
};

/** What an extension sees once a request has been paid and served. */
export type ExtensionPaidContext = ExtensionRequestContext & {
  response: Response;
  receipt: SignedReceipt;
  replayed: boolean;
};

/** A payment verified and about to be served and settled: who pays what, on which rail, for which request. */
export type ExtensionVerifiedContext = ExtensionRequestContext & {
  paymentId: string;
  rail: string;
  accepted: PaymentRequirements;
  payload: RailPayload;
  payer: string;
  /** Atomic units of `accepted.asset`. */
  amount: string;
};

/**
 * An extension's refusal of a verified payment; nothing is served or settled. 402 (default) answers the
 * route's challenge with `reason` (another payer may pay); 503 is an infrastructure refusal (Retry-After).
 */
export type PaymentRefusal = { reason: string; message: string; status?: 402 | 503; code?: ErrorCode };

/** How the settlement of a verified, served payment ended. */
export type SettlementOutcome = {
  paymentId: string;
  route: string;
  rail: string;
  payer: string;
  amount: string;
  accepted: PaymentRequirements;
  binding: RequestBinding;
  /**
   * `settled` with its receipt; `failed` (the rail refused, no money moved); `pending` (broadcast, confirmation
   * not seen); `error` (the rail or its node could not be reached; nothing was broadcast); `abandoned` (never
   * settled: the handler failed, or an extension refused the payment after it verified).
   */
  outcome: 'settled' | 'failed' | 'pending' | 'error' | 'abandoned';
  receipt?: SignedReceipt;
  reason?: string;
};

/**
 * A paywall extension: a seam for features layered on the payment flow (capability credentials bought with
 * one payment, metering, risk controls) without touching the rails. Every hook is optional.
 *
 * - `beforePayment` runs on every request to a paid route before any payment is looked at; answering a
 *   Response ends the request there (e.g. a valid capability token serves the request without payment,
 *   a denied payer is refused). It may also pass a (possibly rewritten) request on by answering undefined.
 * - `afterPaid` runs when a paid request was served (its receipt attached) and may return a decorated
 *   response (e.g. with a capability token header).
 */
export type PaywallExtension = {
  readonly name: string;
  /**
   * Entries this extension adds to every 402's `PaymentRequired.extensions` (x402 v2 extensions such as
   * `payment-identifier`, `offer-receipt`, `bazaar`), keyed by extension name.
   */
  declare?(ctx: ExtensionDeclareContext): Record<string, unknown> | Promise<Record<string, unknown>>;
  beforePayment?(ctx: ExtensionBeforeContext): Promise<Response | undefined>;
  afterPaid?(ctx: ExtensionPaidContext): Promise<Response>;
  /**
   * Runs once a payment verified, before the handler and any settlement: answering a refusal stops it there
   * (risk controls: payer screening, caps, an open circuit breaker), and the claim on the payment is freed.
   */
  afterVerify?(ctx: ExtensionVerifiedContext): Promise<PaymentRefusal | undefined>;
  /**
   * Runs before the handler when a settled payment is served again (see {@link ExtensionReplayContext}): answer
   * a Response to end it there — a refusal (e.g. metering: the deposit's session is closed or spent), or the
   * handler's answer through `ctx.serve()` on the extension's terms (metering draws the call from the session).
   * Undefined lets the next extension, then the handler, run. The flow attaches the receipt to an answer below 400.
   *
   * @example beforeReplay: async (ctx) => (await isRevoked(ctx.paymentId) ? ctx.challenge({ reason: 'revoked', message: '…' }) : undefined)
   */
  beforeReplay?(ctx: ExtensionReplayContext): Promise<Response | undefined>;
  /** Observes how each settlement this paywall started ended (risk caps, circuit breaker, audit log). */
  onSettlement?(outcome: SettlementOutcome): Promise<void>;
  /** Observes the paywall's events (challenges issued, payments rejected or replayed); must not throw. */
  observe?(event: PaywallEvent): void;
};
