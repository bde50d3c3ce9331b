import { hashCanonical } from '../core/canonical';
import { MalformedInputError, PaymentConflictError, X402RailsError, errorCodes } from '../core/errors';
import { decodePaymentSignatureHeader, headerNames } from '../protocol/headers';
import type { PaymentPayload } from '../protocol/schemas';
import type { ExtensionRequestContext, PaywallExtension } from '../server/extensions';
import { createMemoryIdempotencyStore, type CachedResponse, type IdempotencyStore } from './idempotencyStore';
import { declarePaymentIdentifier, paymentIdentifierOf } from './paymentIdentifierWire';

/** Options of {@link paymentIdentifier}. */
export type PaymentIdentifierOptions = {
  /** Refuse payments without an id (400), `info.required: true` in the 402 (default false). */
  required?: boolean;
  /** Where ids and answers are kept (default: in memory, this instance). */
  store?: IdempotencyStore;
  /** How long an answer is given again for its id, ms (default 24 h). */
  ttlMs?: number;
  /** How long an id stays bound to a payment that has no answer yet, ms (default 120 s). */
  pendingMs?: number;
  /** Largest body kept for an id, bytes (default 1 MiB); a larger answer is served but not kept. */
  maxBodyBytes?: number;
};

/** Header on an answer given again for its payment id. */
export const IDEMPOTENT_REPLAY_HEADER = 'X402-Rails-Idempotent-Replay';

/**
 * The x402 `payment-identifier` extension for a paywall: declared in every 402, and an id a payment carries makes
 * its request idempotent. The id is bound (per route) to the exact PaymentPayload and request (method, URL, body
 * hash) it first came with: the same id with the same payment gets the first paid answer again (status, body and
 * PAYMENT-RESPONSE) without verifying or charging anything; the same id with another payment or request → 409
 * `payment_identifier_conflict`; with `required`, a payment without an id → 400. It is looked up before
 * verification, so a resend is answered even after its authorization expired.
 *
 * @example paywall(routes, { rails, signer, issuer, extensions: [paymentIdentifier()] })
 */
export function paymentIdentifier(options: PaymentIdentifierOptions = {}): PaywallExtension {
  const required = options.required ?? false;
  const store = options.store ?? createMemoryIdempotencyStore();
  const ttlMs = options.ttlMs ?? 24 * 3600_000;
  const pendingMs = options.pendingMs ?? 120_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;

  /** The id and fingerprint of a paid request, undefined when it carries no id. */
  function keyOf(ctx: ExtensionRequestContext): { key: string; fingerprint: string } | undefined {
    const header = ctx.request.headers.get(headerNames.paymentSignature);
    if (header === null) return undefined;
    let payment: PaymentPayload;
    try {
      payment = decodePaymentSignatureHeader(header);
    } catch {
      return undefined; // the flow answers the malformed header (400)
    }
    const found = paymentIdentifierOf(payment);
    if ('invalid' in found)
      throw new MalformedInputError(errorCodes.HEADER_SCHEMA, found.invalid, {
        details: { reason: 'invalid_payment_identifier' },
      });
    if (found.id === undefined) {
      if (required)
        throw new MalformedInputError(
          errorCodes.HEADER_SCHEMA,
          'This server requires a payment id (extensions["payment-identifier"].info.id).',
          { details: { reason: 'payment_identifier_required' } },
        );
      return undefined;
    }
    return { key: `${ctx.route.key}\n${found.id}`, fingerprint: hashCanonical({ payment, request: ctx.binding }) };
  }

  return {
    name: 'payment-identifier',
    declare: () => ({ 'payment-identifier': declarePaymentIdentifier(required) }),
    async beforePayment(ctx) {
      const keyed = keyOf(ctx);
      if (!keyed) return undefined;
      const entry = await store.reserve(keyed.key, keyed.fingerprint, pendingMs, ctx.now);
      if (entry === undefined) return undefined;
      if (entry.fingerprint !== keyed.fingerprint) {
        throw new PaymentConflictError(
          'payment_identifier_conflict',
          'This payment id was already used with another payment or request. Use a fresh id for a new payment.',
        );
      }
      // The same payment again: its answer when there is one, else the flow (which settles a payment once).
      return entry.response ? responseOf(entry.response) : undefined;
    },
    async afterPaid(ctx) {
      let keyed: ReturnType<typeof keyOf>;
      try {
        keyed = keyOf(ctx);
      } catch (error) {
        if (error instanceof X402RailsError) return ctx.response;
        throw error;
      }
      if (!keyed || ctx.response.status >= 400) return ctx.response;
      const body = new Uint8Array(await ctx.response.arrayBuffer());
      const kept: CachedResponse = { status: ctx.response.status, headers: [...ctx.response.headers], body };
      if (body.byteLength <= maxBodyBytes) await store.complete(keyed.key, keyed.fingerprint, kept, ttlMs, ctx.now);
      return new Response(body, {
        status: kept.status,
        statusText: ctx.response.statusText,
        headers: ctx.response.headers,
      });
    },
  };
}

function responseOf(cached: CachedResponse): Response {
  const headers = new Headers(cached.headers);
  headers.set(IDEMPOTENT_REPLAY_HEADER, 'true');
  return new Response(cached.status === 204 || cached.status === 304 ? null : Buffer.from(cached.body), {
    status: cached.status,
    headers,
  });
}
