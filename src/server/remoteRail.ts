import type { z } from 'zod';
import { RailUnavailableError, SettlementPendingError } from '../core/errors';
import {
  defineServerRail,
  splitPayloadExtensions,
  type PayloadExtensionsRail,
  type PaymentContext,
  type PriceOffer,
  type QuoteContext,
  type RailPayload,
  type ServerRail,
  type SettleResult,
  type VerifyResult,
} from '../core/rail';
import { parseBoundedJson } from '../protocol/jsonCodec';
import { SettleResponseSchema, VerifyResponseSchema, type PaymentRequirements } from '../protocol/schemas';

/** Parameters of {@link remoteRail}. */
export type RemoteRailParameters = {
  /** Rail id routes name in their offers, e.g. `evm-eip3009`. */
  id: string;
  /** Base URL of an x402 v2 facilitator (`<url>/verify`, `<url>/settle`). */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Which requirements this rail takes (usually the local rail's `supports`). */
  supports(req: PaymentRequirements): boolean;
  /** Builds the offer locally: the route's price, payTo, asset and extra (usually the local rail's `quote`). */
  quote(offer: PriceOffer, ctx: QuoteContext): Promise<PaymentRequirements>;
  /** The payment id, computed locally (usually the local rail's `paymentId`). */
  paymentId(payload: RailPayload, req: PaymentRequirements): string;
  /** fetch to call the facilitator with (default: global fetch). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Per-call timeout, ms (default 90 s: a settlement may wait for confirmation). */
  timeoutMs?: number;
  /**
   * Extra `/settle` attempts after an ambiguous failure (timeout, reset, 502/504). Safe with an idempotent
   * facilitator (ours), and with any facilitator for rails whose payments are single-use on chain. Default 1.
   */
  settleRetries?: number;
  /**
   * The PaymentPayload extensions the local rail reads and declares (pass the local rail when it has the power,
   * e.g. the EVM Permit2 rail's `eip2612GasSponsoring`), so they reach the facilitator and the 402 declares them.
   */
  extensions?: Pick<PayloadExtensionsRail, 'payloadExtensionKeys' | 'declareExtensions'>;
};

/**
 * A server rail whose verify and settle run on a remote x402 facilitator, so a paywall can use one instead of
 * settling itself ("remote facilitator" mode; local rails stay the default). Quote and payment id stay local.
 * Facilitator answers map to rail results: `isValid: false` → a rejection with its reason; `success: false`
 * → `failed`, or `pending` for `settlement_pending`; unreachable or 5xx → `RailUnavailableError` (503/502);
 * a `/settle` whose outcome stays unknown after its retries → `SettlementPendingError`.
 *
 * @example
 * const local = evmEip3009Server({ … }); // only its quote / paymentId / supports are used
 * const evm = remoteRail({ id: local.id, url: 'https://facilitator.example', apiKey, supports: local.supports, quote: local.quote, paymentId: local.paymentId });
 * paywall(routes, { rails: [evm], signer });
 */
export function remoteRail(p: RemoteRailParameters): ServerRail {
  const base = p.url.replace(/\/+$/, '');
  const doFetch = p.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = p.timeoutMs ?? 90_000;

  // PaymentPayload extensions a rail reads travel folded into its payload (`foldPayloadExtensions`): sent at the top.
  const body = (railPayload: RailPayload, req: PaymentRequirements, ctx: PaymentContext): string => {
    const { payload, extensions } = splitPayloadExtensions(railPayload);
    return JSON.stringify({
      x402Version: 2,
      paymentPayload: {
        x402Version: 2,
        resource: { url: ctx.request.url },
        accepted: req,
        payload,
        ...(extensions ? { extensions } : {}),
      },
      paymentRequirements: req,
    });
  };

  async function call<S extends z.ZodType>(path: 'verify' | 'settle', json: string, schema: S): Promise<z.output<S>> {
    let response: Response;
    let text: string;
    try {
      response = await doFetch(`${base}/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(p.apiKey ? { Authorization: `Bearer ${p.apiKey}` } : {}) },
        body: json,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (cause) {
      // Refused or unresolvable: nothing reached the facilitator. A timeout or reset may have: ambiguous.
      const ambiguous = !['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(errorCodeOf(cause));
      throw new RailUnavailableError(`The facilitator did not answer /${path}. Try again shortly.`, {
        cause,
        rail: p.id,
        details: { path, ambiguous },
      });
    }
    let parsed: z.output<S> | undefined;
    try {
      const result = schema.safeParse(
        parseBoundedJson(text, { what: `The facilitator's /${path} answer`, maxDepth: 32 }),
      );
      if (result.success) parsed = result.data;
    } catch {
      parsed = undefined;
    }
    // Some facilitators answer a refused payment with 4xx and a Verify/SettleResponse body: take the answer.
    if (
      parsed !== undefined &&
      (response.ok ||
        (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 403))
    ) {
      return parsed;
    }
    const status = response.status;
    // Our facilitator answers 503 only when nothing was broadcast; a gateway's 502/504 leaves the outcome unknown.
    const details = { path, status, ambiguous: status === 502 || status === 504 };
    if (status === 401 || status === 403) {
      throw new RailUnavailableError(
        `The facilitator refused our credentials (${status}) on /${path}; check the apiKey.`,
        { status: 502, rail: p.id, details },
      );
    }
    if (status >= 500)
      throw new RailUnavailableError(`The facilitator failed on /${path} (${status}). Try again shortly.`, {
        status: 503,
        rail: p.id,
        details,
      });
    throw new RailUnavailableError(`The facilitator gave an unusable answer to /${path} (${status}).`, {
      status: 502,
      rail: p.id,
      details,
    });
  }

  const extensionPower = p.extensions
    ? {
        payloadExtensionKeys: p.extensions.payloadExtensionKeys,
        declareExtensions: (req: PaymentRequirements) => p.extensions?.declareExtensions(req) ?? {},
      }
    : {};
  return defineServerRail({
    id: p.id,
    ...extensionPower,
    supports: (req: PaymentRequirements) => p.supports(req),
    quote: (offer: PriceOffer, ctx: QuoteContext) => p.quote(offer, ctx),
    paymentId: (payload: RailPayload, req: PaymentRequirements) => p.paymentId(payload, req),
    async verify(payload, req, ctx): Promise<VerifyResult> {
      const answer = await call('verify', body(payload, req, ctx), VerifyResponseSchema);
      if (answer.isValid) return { isValid: true, payer: answer.payer ?? '', amount: req.amount };
      const reason = answer.invalidReason ?? 'invalid_payment';
      return {
        isValid: false,
        reason,
        message: answer.invalidMessage ?? `The facilitator refused the payment (${reason}).`,
        ...(answer.payer ? { payer: answer.payer } : {}),
      };
    },
    async settle(payload, req, ctx): Promise<SettleResult> {
      const json = body(payload, req, ctx);
      const attempts = 1 + (p.settleRetries ?? 1);
      let sawAmbiguous = false;
      for (let attempt = 1; ; attempt++) {
        try {
          const answer = await call('settle', json, SettleResponseSchema);
          if (answer.success)
            return {
              status: 'settled',
              reference: answer.transaction,
              payer: answer.payer ?? '',
              amount: answer.amount ?? req.amount,
            };
          const reason = answer.errorReason ?? 'settlement_failed';
          const message = answer.errorMessage ?? `The facilitator could not settle the payment (${reason}).`;
          if (reason === 'settlement_pending' && answer.transaction)
            return { status: 'pending', reference: answer.transaction, message };
          return {
            status: 'failed',
            reason,
            message,
            ...(answer.transaction ? { reference: answer.transaction } : {}),
          };
        } catch (error) {
          const ambiguous = error instanceof RailUnavailableError && error.details.ambiguous === true;
          sawAmbiguous ||= ambiguous;
          if (!ambiguous || attempt >= attempts) {
            if (sawAmbiguous && error instanceof RailUnavailableError) {
              throw new SettlementPendingError(
                `facilitator:${ctx.paymentId}`,
                'The facilitator may have settled this payment, but its answer was lost.',
                { cause: error },
              );
            }
            throw error;
          }
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        }
      }
    },
  });
}

/** The system error code (`ECONNREFUSED`, …) somewhere in a fetch failure's cause chain. */
function errorCodeOf(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return '';
}
