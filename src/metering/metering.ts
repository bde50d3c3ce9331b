import { ConfigurationError, MalformedInputError, X402RailsError, errorCodes } from '../core/errors';
import type { RequestBinding } from '../core/rail';
import type { ReceiptSigner } from '../core/receipt/signer';
import type { CapabilityClaims } from '../capabilities/capabilityClaims';
import { withExposedHeaders } from '../capabilities/capabilityHeaders';
import type { CapabilityToken } from '../capabilities/capabilityToken';
import type {
  ExtensionBeforeContext,
  ExtensionPaidContext,
  ExtensionReplayContext,
  ExtensionVerifiedContext,
  PaymentRefusal,
  PaywallExtension,
} from '../server/extensions';
import { errorResponse, jsonResponse } from '../server/responses';
import type { AuditLog } from '../risk/auditLog';
import {
  closeMeterSession,
  operatorBinding,
  resolveRefund,
  type CloseDeps,
  type CloseOutcome,
} from './closeMeterSession';
import { settleExpiredSessions } from './settleExpiredSessions';
import { resolveMeteredRoute, parseUsage, type MeteredRoute, type ResolvedMeteredRoute } from './meteredRoute';
import { meteringHeaders, type MeteringRefusal } from './meteringHeaders';
import { encodeMeteringReceipt, signMeteringReceipt } from './meteringReceipt';
import type { MeteringRefunder } from './meteringRefunder';
import type { MeteringStore } from './meteringStore';
import { createMemoryMeteringStore } from './memoryMeteringStore';
import type { MeteringAuthorizer } from './meteringAuthorizer';
import { authorizeSession } from './openAuthorizedSession';
import type { MeterSession } from './meterSession';
import { readPresentedSession } from './readPresentedSession';

/** Options of {@link metering}. */
export type MeteringOptions = {
  /** Signs and reads session tokens (a capability token format, e.g. `jwsCapabilityToken`). */
  token: CapabilityToken;
  /** The paywall's receipt signer: incremental and final receipts verify with the same JWKS. */
  signer: ReceiptSigner;
  /** Metered routes by paywall route key; the route's price is the deposit (the most a session may use). */
  routes: Record<string, MeteredRoute>;
  /** Refunders by rail id (`evmRefunder`, `solanaRefunder`, `lightningRefunder`); a rail without one keeps the unused balance. */
  refunds?: Record<string, MeteringRefunder>;
  /** Authorizers by rail id for `settle: 'authorize'` routes (`evmPermitAuthorizer`): open without settling, settle the total on close. */
  authorizers?: Record<string, MeteringAuthorizer>;
  /** Sessions, balances and refunds (default: memory, one process). */
  store?: MeteringStore;
  /** How long a close waits for the session's calls in flight, ms (default 30 s). */
  closeWaitMs?: number;
  /** Where refund attempts are recorded (kind `refund`, with the final receipt), e.g. the risk controls' audit log. */
  audit?: AuditLog;
  /**
   * Asked before an authorize-mode session opens (that payment never goes through the paywall's pipeline): pass
   * the risk controls' check, `admit: (ctx) => risk.afterVerify(ctx)`, so screening, caps (on the maximum) and
   * the breaker apply to it too.
   */
  admit?: (ctx: ExtensionVerifiedContext) => Promise<PaymentRefusal | undefined>;
  /** Observes failures absorbed after service (opening a session, recording usage) and refunds of unknown outcome. */
  onError?: (error: unknown, during: 'open' | 'usage' | 'refund') => void;
  /** Clock (default `Date.now`). */
  now?: () => number;
};

/** The metering extension: plug it into `paywall({ extensions: [meter] })`. */
export type Metering = PaywallExtension & {
  /** Closes a session by id (operator side): final receipt and refund, as a client's close. */
  close(sessionId: string, options?: { refundTo?: string }): Promise<CloseOutcome | undefined>;
  /**
   * Settles a refund whose outcome was unknown (left `in_progress`, never re-sent on its own) once the operator
   * has looked it up on the rail: `{ sent: reference }` records it and signs the final receipt; `{ notSent: true }`
   * frees it for the next close.
   */
  resolveRefund(sessionId: string, resolution: { sent: string } | { notSent: true }): Promise<CloseOutcome | undefined>;
  /**
   * Closes the expired authorized sessions (`settle: 'authorize'`) recorded in the store, whichever process opened
   * them, and settles their totals (run it periodically, on one or more instances: an authorization must be settled
   * within SETTLE_MARGIN_SECONDS of its session's expiry, before it lapses). Answers each close; one that cannot
   * finish yet is reported through `onError` and retried on the next run.
   */
  settleExpired(): Promise<CloseOutcome[]>;
  readonly store: MeteringStore;
};

/**
 * Metered usage: the route's price is a prepaid deposit (any rail), and each call draws what it used.
 *
 * - Deposit: a normal x402/L402 payment of the route's price, served as the session's first call. The response
 *   carries `X402-Metering-Session: <token>` and an incremental receipt.
 * - Calls: requests presenting the session are served without payment when its balance covers the route's
 *   `maxUnitsPerCall × unitPrice` (reserved atomically before the handler runs). The handler reports its usage
 *   in `X402-Usage: <units>` (stripped); the call is charged `min(units × unitPrice, reserved)` — a response
 *   without a valid usage header is charged its reservation, one answered ≥ 400 nothing. Every call's response
 *   carries `X402-Metering-Receipt`: a receipt signed like the deposit's (same JWKS) with the running total and
 *   what remains, linked to the deposit's receipt. The total never exceeds the deposit, under any concurrency.
 * - Refusals: a session whose balance no longer covers a call, expired, closed, unknown, forged or for another
 *   route → the route's 402 with fresh offers and `X402-Metering-Error` (pay a new deposit); malformed → 400.
 * - Close: a request with the session and `X402-Metering-Close` (the handler is not called) → 200 JSON
 *   `{ session, receipt, refund }`: the final receipt and the refund of exactly `deposit − used`, sent once
 *   by the rail's refunder (Lightning: to the invoice in `X402-Metering-Refund-To`; without one, the answer
 *   says `awaiting_destination` and the amount to invoice).
 * - Authorize (route `settle: 'authorize'`, a rail in `authorizers`): the payment is an authorization of the price
 *   (an EIP-2612 permit) that opens the session without moving money; the close settles the total once
 *   (`{ session, receipt, refund: none, settlement }`) — see `openAuthorizedSession` and `settleAuthorizedSession`.
 *
 * @example
 * const meter = metering({ token: await jwsCapabilityToken(), signer, routes: { 'POST /llm': { maxUnitsPerCall: 2_000n, unitPrice: 5n } },
 *   refunds: { 'evm-eip3009': evmRefunder({ publicClient, walletClient }) } });
 * const pw = paywall({ 'POST /llm': { accepts: [{ rail: 'evm-eip3009', amount: 1_000_000n }] } }, { rails, signer, extensions: [meter] });
 * // handler: return new Response(answer, { headers: { 'X402-Usage': String(tokensUsed) } });
 */
export function metering(options: MeteringOptions): Metering {
  const store = options.store ?? createMemoryMeteringStore();
  const now = options.now ?? Date.now;
  const routes = new Map<string, ResolvedMeteredRoute>();
  for (const [key, route] of Object.entries(options.routes)) routes.set(key, resolveMeteredRoute(key, route));
  if (
    [...routes.values()].some((r) => r.settle === 'authorize') &&
    Object.keys(options.authorizers ?? {}).length === 0
  ) {
    // Without one, the route's permit would silently be settled in full as a deposit.
    throw new ConfigurationError(
      "A metered route settles by 'authorize' but no authorizers are given (e.g. { 'evm-eip2612': evmPermitAuthorizer(…) }).",
    );
  }
  const closeDeps: CloseDeps = {
    store,
    signer: options.signer,
    refunds: options.refunds ?? {},
    authorizers: options.authorizers ?? {},
    waitMs: options.closeWaitMs ?? 30_000,
    now,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
  };

  async function refuse(ctx: ExtensionBeforeContext, reason: MeteringRefusal, message: string): Promise<Response> {
    return withExposedHeaders(await ctx.challenge({ reason, message }), { [meteringHeaders.error]: reason });
  }

  async function beforePayment(ctx: ExtensionBeforeContext): Promise<Response | undefined> {
    const route = routes.get(ctx.route.key);
    if (!route) return undefined;
    if (route.settle === 'authorize') {
      const opened = await authorizeSession(ctx, route, {
        token: options.token,
        store,
        authorizers: options.authorizers ?? {},
        ...(options.admit ? { admit: options.admit } : {}),
      });
      if (opened.kind === 'refused') {
        return refuse(
          ctx,
          opened.reason === 'authorization_pledged' ? 'metering_pledged' : 'metering_unauthorized',
          `${opened.message} (${opened.reason}) Nothing was moved.`,
        );
      }
      if (opened.kind === 'session') {
        // The same permit again on a session that cannot serve: close it (settle) and authorize anew, like a pledged nonce.
        return withExposedHeaders(
          await drawAndServe(ctx, route, opened.session.id, opened.session.rail, 'metering_pledged'),
          { [meteringHeaders.session]: opened.session.token },
        );
      }
    }
    const presented = readPresentedSession(ctx.request);
    if (presented.kind === 'none') return undefined;
    if (presented.kind === 'malformed') return malformed(presented.message);
    const read = await options.token.read(presented.token);
    if (!read.ok)
      return read.reason === 'malformed' ? malformed(read.message) : refuse(ctx, 'metering_invalid', read.message);
    const claims = read.claims;
    if (claims.amountCap === undefined) return refuse(ctx, 'metering_invalid', 'This token is not a metering session.');
    if (!claims.scope.routes.includes(ctx.route.key))
      return refuse(ctx, 'metering_wrong_scope', `This session does not meter ${ctx.route.key}.`);
    if (presented.close) {
      const closed = await closeMeterSession(claims.jti, ctx.binding, presented.refundTo, closeDeps);
      if (!closed) return refuse(ctx, 'metering_unknown', messages.metering_unknown);
      return jsonResponse(200, closed, {
        'Cache-Control': 'no-store',
        [meteringHeaders.receipt]: encodeMeteringReceipt(closed.receipt),
      });
    }
    return drawAndServe(ctx, route, claims.jti, claims.rail);
  }

  /** Serves a call of session `id` when its balance covers the call's reservation, and charges what it used. */
  async function drawAndServe(
    ctx: ExtensionBeforeContext,
    route: ResolvedMeteredRoute,
    id: string,
    rail: string,
    refusal?: MeteringRefusal,
  ): Promise<Response> {
    const price = route.unitPrice(rail);
    if (price === undefined) return refuse(ctx, 'metering_invalid', `This route names no unit price on ${rail}.`);
    const reserve = route.maxUnitsPerCall * price;
    const reserved = await store.reserve(id, reserve, ctx.now);
    if (!reserved.ok) return refuse(ctx, refusal ?? reserved.reason, messages[reserved.reason]);
    let response: Response;
    try {
      response = await ctx.serve();
    } catch (error) {
      await store.commit(id, reserve, 0n).catch((e: unknown) => options.onError?.(e, 'usage'));
      throw error;
    }
    return chargeCall(id, reserve, price, response, ctx.binding);
  }

  /** Charges a served call against its reservation and attaches its incremental receipt. */
  async function chargeCall(
    id: string,
    reserve: bigint,
    price: bigint,
    response: Response,
    binding: RequestBinding,
  ): Promise<Response> {
    const charged = response.status >= 400 ? 0n : chargeOf(response, price, reserve);
    try {
      const committed = await store.commit(id, reserve, charged);
      const session = await store.get(id);
      if (!committed || !session) return stripUsage(response);
      const receipt = await signMeteringReceipt(options.signer, session, binding, now(), {
        seq: committed.seq,
        charged,
        used: committed.used,
      });
      return withExposedHeaders(stripUsage(response), { [meteringHeaders.receipt]: encodeMeteringReceipt(receipt) });
    } catch (error) {
      // Served already: the answer goes out; the reservation stays held (the client is never overcharged by it).
      options.onError?.(error, 'usage');
      return stripUsage(response);
    }
  }

  /**
   * The deposit's payment served again without a new settlement: the identical request resent (a lost answer,
   * admitted by the paywall's bounded replay) or a reusable credential (L402) presented for another request.
   * Either way it is a call on the deposit's session, drawn before the handler runs like any session call: a
   * closed, expired or spent session serves nothing (the route's 402 with `X402-Metering-Error`), so a deposit
   * cannot be refunded and still be spent through its payment. The answer hands the session token back.
   */
  async function beforeReplay(ctx: ExtensionReplayContext): Promise<Response | undefined> {
    const route = routes.get(ctx.route.key);
    if (!route) return undefined;
    const existing = await store.get(ctx.receipt.id);
    // No session was opened for this deposit (opening failed after it settled): a plain paid replay.
    if (!existing) return undefined;
    const response = await drawAndServe(ctx, route, existing.id, existing.rail);
    return response.status >= 400
      ? response
      : withExposedHeaders(response, { [meteringHeaders.session]: existing.token });
  }

  async function afterPaid(ctx: ExtensionPaidContext): Promise<Response> {
    const route = routes.get(ctx.route.key);
    if (!route || ctx.receipt.status !== 'settled') return ctx.response;
    // A replay was drawn and charged in beforeReplay.
    if (ctx.replayed) return stripUsage(ctx.response);
    try {
      const price = route.unitPrice(ctx.receipt.rail);
      if (price === undefined)
        throw new X402RailsError(
          errorCodes.CONFIG_INVALID,
          `Metered route "${ctx.route.key}" names no unit price on ${ctx.receipt.rail}.`,
        );
      const authorized = BigInt(ctx.receipt.amount);
      const cap = route.maxUnitsPerCall * price < authorized ? route.maxUnitsPerCall * price : authorized;
      const charged = ctx.response.status >= 400 ? 0n : chargeOf(ctx.response, price, cap);
      const iat = Math.floor(ctx.now / 1000);
      const claims: CapabilityClaims = {
        v: 1,
        jti: ctx.receipt.id,
        iss: ctx.receipt.issuer,
        sub: ctx.receipt.payer,
        scope: { routes: [ctx.route.key], methods: [ctx.route.method ?? ctx.binding.method.toUpperCase()] },
        amountCap: ctx.receipt.amount,
        iat,
        exp: iat + route.ttlSeconds,
        receipt: ctx.receipt.id,
        rail: ctx.receipt.rail,
      };
      const token = await options.token.issue(claims);
      const session = await store.open(sessionOf(ctx, token, authorized, charged, claims.exp * 1000));
      const receipt = await signMeteringReceipt(options.signer, session, ctx.binding, now(), {
        seq: 1,
        charged,
        used: charged,
      });
      return withExposedHeaders(stripUsage(ctx.response), {
        [meteringHeaders.session]: session.token,
        [meteringHeaders.receipt]: encodeMeteringReceipt(receipt),
      });
    } catch (error) {
      // The deposit settled: its paid response (with its receipt) goes out even when the session could not open.
      options.onError?.(error, 'open');
      return stripUsage(ctx.response);
    }
  }

  return {
    name: 'metering',
    store,
    beforePayment,
    beforeReplay,
    afterPaid,
    async close(sessionId, closeOptions = {}) {
      const session = await store.get(sessionId);
      if (!session) return undefined;
      return closeMeterSession(sessionId, operatorBinding(session), closeOptions.refundTo, closeDeps);
    },
    resolveRefund: (sessionId, resolution) => resolveRefund(sessionId, resolution, closeDeps),
    settleExpired: () => settleExpiredSessions(closeDeps),
  };
}

const messages: Record<'metering_unknown' | 'metering_expired' | 'metering_closed' | 'metering_exhausted', string> = {
  metering_unknown: 'This server does not know this metering session; pay a new deposit.',
  metering_expired: 'This metering session has expired; close it for its refund and pay a new deposit.',
  metering_closed: 'This metering session is closed; pay a new deposit.',
  metering_exhausted:
    "This metering session's balance does not cover another call; close it for its refund and pay a new deposit.",
};

/** A new session from its deposit: the first call already charged. */
function sessionOf(
  ctx: ExtensionPaidContext,
  token: string,
  authorized: bigint,
  charged: bigint,
  expiresAt: number,
): MeterSession {
  const r = ctx.receipt;
  return {
    id: r.id,
    route: ctx.route.key,
    issuer: r.issuer,
    rail: r.rail,
    scheme: r.scheme,
    network: r.network,
    asset: r.asset,
    payer: r.payer,
    payee: r.payee,
    depositReceipt: r.id,
    depositReference: r.reference,
    requirementsHash: r.requirementsHash,
    challenge: r.challenge,
    token,
    authorized,
    used: charged,
    reserved: 0n,
    seq: 1,
    expiresAt,
    closed: false,
  };
}

/** What a served call costs: its reported units × price, at most `cap`; the whole cap without a valid report. */
function chargeOf(response: Response, price: bigint, cap: bigint): bigint {
  const units = parseUsage(response.headers.get(meteringHeaders.usage));
  if (units === undefined) return cap;
  const cost = units * price;
  return cost < cap ? cost : cap;
}

/** Removes the handler's usage report before the response leaves. */
function stripUsage(response: Response): Response {
  if (!response.headers.has(meteringHeaders.usage)) return response;
  try {
    response.headers.delete(meteringHeaders.usage);
    return response;
  } catch {
    const headers = new Headers(response.headers);
    headers.delete(meteringHeaders.usage);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

function malformed(message: string): Response {
  const response = errorResponse(
    new MalformedInputError(errorCodes.METERING_MALFORMED, `${message} Send the session token exactly as received.`),
  );
  return withExposedHeaders(response, { [meteringHeaders.error]: 'metering_malformed', 'Cache-Control': 'no-store' });
}
