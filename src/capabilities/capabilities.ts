import { createHash } from 'node:crypto';
import { MalformedInputError, X402RailsError, errorCodes } from '../core/errors';
import type { ExtensionBeforeContext, ExtensionPaidContext, PaywallExtension } from '../server/extensions';
import { errorResponse } from '../server/responses';
import type { CapabilityClaims } from './capabilityClaims';
import { resolveGrant, type CapabilityGrant, type ResolvedGrant } from './capabilityGrant';
import { capabilityHeaders, withExposedHeaders } from './capabilityHeaders';
import type { CapabilityStore, CapabilityUse } from './capabilityStore';
import type { CapabilityRefusal, CapabilityToken } from './capabilityToken';
import { createMemoryCapabilityStore } from './memoryCapabilityStore';
import { readPresentedCapability } from './readPresentedCapability';

/** A refusal an {@link CapabilitiesOptions.admit} hook answers. */
export type AdmitRefusal = { allowed: false; reason: string; message?: string };

/** Options of {@link capabilities}. */
export type CapabilitiesOptions = {
  /** Token format that signs and reads capabilities (e.g. {@link jwsCapabilityToken}). */
  token: CapabilityToken;
  /** Remaining counts and revocations (default: memory, one process). */
  store?: CapabilityStore;
  /** Per paid route key (as in the paywall's routes), what its price buys. Routes without a grant issue none. */
  grants: Record<string, CapabilityGrant>;
  /** Issuer written into and required of capabilities (default: the request's origin). */
  issuer?: string;
  /** Also read `Authorization: Bearer <capability>` (default true; only tokens of our format are taken). */
  acceptBearer?: boolean;
  /**
   * Checks the holder on every use (e.g. risk controls' payer screening): a payer denied after buying a
   * capability cannot keep using it.
   */
  admit?: (claims: CapabilityClaims) => Promise<true | AdmitRefusal>;
  /**
   * Observes store or signing failures that were absorbed: issuing after a settled payment (the paid
   * response goes out without a capability) and giving back a use the handler failed. Receives no token.
   */
  onError?: (error: unknown, during: 'issue' | 'restore') => void;
};

/** The capability extension: plug it into `paywall({ extensions: [ext] })`. */
export type Capabilities = PaywallExtension & {
  /** Revokes a capability by its `jti`; its next use is answered 402 `capability_revoked`. */
  revoke(jti: string): Promise<void>;
  /** The store in use. */
  readonly store: CapabilityStore;
};

/**
 * Capability credentials: one payment buys many calls. After a settled call on a route with a grant, the
 * paid response carries `X402-Capability: <token>` (claims: payer, scope, calls, amount cap, rate limit,
 * expiry, the receipt that paid). A later request presenting it (`X402-Capability` or `Authorization:
 * Bearer`) is served without payment when its signature, issuer, expiry, scope (route key and method),
 * revocation and rate limit hold and a call is left (taken atomically), with `X402-Capability-Remaining`.
 *
 * Refusals: a forged, expired, revoked, exhausted, unknown or out-of-scope capability → the route's normal
 * 402 with fresh offers, `error` = the reason and `X402-Capability-Error: <reason>` (the client drops it and
 * pays again); rate limited → 429 with Retry-After; malformed `X402-Capability` → 400. A call the handler
 * answers ≥ 400 gives its use back.
 *
 * @example
 * const token = await jwsCapabilityToken({ privateJwk });
 * const caps = capabilities({ token, grants: { 'GET /weather/:city': { calls: 1000, ttlSeconds: 3600, rateLimit: 100 } } });
 * const pw = paywall(routes, { rails, signer, extensions: [caps] });
 * await caps.revoke(jti);
 */
export function capabilities(options: CapabilitiesOptions): Capabilities {
  const store = options.store ?? createMemoryCapabilityStore();
  const format = options.token;
  const acceptBearer = options.acceptBearer ?? true;
  const grants = new Map<string, ResolvedGrant>();
  for (const [key, grant] of Object.entries(options.grants)) grants.set(key, resolveGrant(key, grant));

  const issuedHere = (iss: string, url: string) => iss === (options.issuer ?? requestOrigin(url));

  async function refuse(ctx: ExtensionBeforeContext, reason: CapabilityRefusal, message: string): Promise<Response> {
    const challenge = await ctx.challenge({ reason, message });
    return withExposedHeaders(challenge, { [capabilityHeaders.error]: reason });
  }

  async function beforePayment(ctx: ExtensionBeforeContext): Promise<Response | undefined> {
    const presented = readPresentedCapability(ctx.request, format, acceptBearer);
    if (presented.kind === 'none') return undefined;
    if (presented.kind === 'malformed') return malformed(presented.message);
    const read = await format.read(presented.token);
    if (!read.ok) return read.reason === 'malformed' ? malformed(read.message) : refuse(ctx, read.reason, read.message);
    const claims = read.claims;
    if (!issuedHere(claims.iss, ctx.binding.url))
      return refuse(ctx, 'capability_wrong_issuer', `This capability was issued by ${claims.iss}.`);
    if (claims.exp * 1000 <= ctx.now)
      return refuse(ctx, 'capability_expired', 'This capability has expired; pay again.');
    if (!inScope(claims, ctx))
      return refuse(
        ctx,
        'capability_wrong_scope',
        `This capability does not cover ${ctx.binding.method} ${ctx.route.key}.`,
      );
    if (options.admit) {
      const admitted = await options.admit(claims);
      if (admitted !== true)
        return refuse(
          ctx,
          'capability_denied',
          admitted.message ?? `The holder of this capability is refused (${admitted.reason}).`,
        );
    }
    const use = { now: ctx.now, ...(claims.amountCap !== undefined ? costOf(ctx.route.key) : {}) };
    const taken = await store.consume(claims.jti, use);
    if (!taken.ok) {
      if (taken.reason === 'capability_rate_limited') return rateLimited(taken.retryAfterMs);
      return refuse(ctx, taken.reason, messages[taken.reason]);
    }
    let response: Response;
    try {
      response = await ctx.serve();
    } catch (error) {
      await giveBack(claims.jti, use);
      throw error;
    }
    if (response.status >= 400) {
      await giveBack(claims.jti, use);
      return response;
    }
    const headers: Record<string, string> = {};
    if (taken.remainingCalls !== undefined) headers[capabilityHeaders.remaining] = String(taken.remainingCalls);
    if (taken.remainingAmount !== undefined)
      headers[capabilityHeaders.remainingAmount] = taken.remainingAmount.toString();
    return withExposedHeaders(response, headers);
  }

  /** Best effort: a store failure here must not replace the handler's answer. */
  async function giveBack(jti: string, use: CapabilityUse): Promise<void> {
    try {
      await store.restore(jti, use);
    } catch (error) {
      options.onError?.(error, 'restore');
    }
  }

  function costOf(routeKey: string): { amount?: bigint } {
    const cost = grants.get(routeKey)?.costPerCall;
    return cost === undefined ? {} : { amount: cost };
  }

  /**
   * The capability a settled payment buys on this route. Its id derives from the payment's settlement reference
   * (its times from the receipt), so the same payment always names the same capability: registered once (a store never refills an id), and handed back
   * as is when the paid answer is sent again (a resend after a lost answer, a reusable credential presented again),
   * so one payment never buys more than one grant, on however many processes.
   */
  async function afterPaid(ctx: ExtensionPaidContext): Promise<Response> {
    const grant = grants.get(ctx.route.key);
    if (!grant || ctx.receipt.status !== 'settled') return ctx.response;
    const iat = Math.floor((Date.parse(ctx.receipt.settledAt ?? ctx.receipt.issuedAt) || ctx.now) / 1000);
    const claims: CapabilityClaims = {
      v: 1,
      jti: capabilityIdOf(ctx.receipt, ctx.route.key),
      iss: options.issuer ?? requestOrigin(ctx.binding.url),
      sub: ctx.receipt.payer,
      scope: {
        routes: grant.scope.routes ?? [ctx.route.key],
        methods: grant.scope.methods ?? [ctx.route.method ?? ctx.receipt.request.method.toUpperCase()],
      },
      ...(grant.calls !== undefined ? { calls: grant.calls } : {}),
      ...(grant.amountCap !== undefined ? { amountCap: grant.amountCap.toString() } : {}),
      ...(grant.rateLimit !== undefined ? { rateLimit: grant.rateLimit } : {}),
      iat,
      exp: iat + grant.ttlSeconds,
      receipt: ctx.receipt.id,
      rail: ctx.receipt.rail,
    };
    // The payment has settled: a failure to issue leaves the paid response as it is (no capability) rather
    // than turning it into an error the client already paid for.
    try {
      if (ctx.replayed) {
        // Sent again: hand back the capability it bought while it lives (what is left of it), never a new one.
        const kept = await store.get(claims.jti);
        if (!kept || kept.revoked || kept.expiresAt <= ctx.now) return ctx.response;
      } else {
        await store.register({
          jti: claims.jti,
          expiresAt: claims.exp * 1000,
          ...(grant.calls !== undefined ? { calls: grant.calls } : {}),
          ...(grant.amountCap !== undefined ? { amount: grant.amountCap } : {}),
          ...(grant.costPerCall !== undefined ? { costPerCall: grant.costPerCall } : {}),
          ...(grant.rateLimit !== undefined ? { rateLimit: grant.rateLimit } : {}),
        });
      }
      const token = await format.issue(claims);
      return withExposedHeaders(ctx.response, { [capabilityHeaders.capability]: token });
    } catch (error) {
      options.onError?.(error, 'issue');
      return ctx.response;
    }
  }

  return {
    name: 'capabilities',
    store,
    beforePayment,
    afterPaid,
    revoke: (jti) => store.revoke(jti),
  };
}

const messages: Record<
  'capability_unknown' | 'capability_exhausted' | 'capability_revoked' | 'capability_expired',
  string
> = {
  capability_unknown: 'This server does not know this capability (it may have restarted); pay again.',
  capability_exhausted: 'This capability has no calls (or balance) left; pay again.',
  capability_revoked: 'This capability was revoked; pay again.',
  capability_expired: 'This capability has expired; pay again.',
};

/**
 * The id of the capability a settled payment buys on `routeKey`, from what identifies the payment on its rail (its
 * settlement reference: EVM transaction hash, Solana signature, Lightning payment hash), so the same payment names
 * the same capability on every process, whatever receipt each one signed (distinct from a metering session's id).
 *
 * @example capabilityIdOf({ rail: 'lightning-l402', network: 'bip122:0f91…', reference: '9f3c…' }, 'GET /report') // 'cap_Qm9…'
 */
export function capabilityIdOf(
  payment: { rail: string; network: string; reference: string },
  routeKey: string,
): string {
  const identity = ['x402-rails/capability', payment.rail, payment.network, payment.reference, routeKey].join('\n');
  return `cap_${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}`;
}

/** The request URL is normalized (`Request.url`), so its origin is its prefix up to the path. */
function requestOrigin(url: string): string {
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  return slash < 0 ? url : url.slice(0, slash);
}

function inScope(claims: CapabilityClaims, ctx: ExtensionBeforeContext): boolean {
  if (!claims.scope.routes.includes(ctx.route.key)) return false;
  const method = ctx.binding.method.toUpperCase();
  return claims.scope.methods.includes(method) || (method === 'HEAD' && claims.scope.methods.includes('GET'));
}

function malformed(message: string): Response {
  const response = errorResponse(
    new MalformedInputError(errorCodes.CAPABILITY_MALFORMED, `${message} Send the token exactly as received.`),
  );
  return withExposedHeaders(response, { [capabilityHeaders.error]: 'capability_malformed' });
}

function rateLimited(retryAfterMs: number): Response {
  const error = new X402RailsError(
    errorCodes.CAPABILITY_RATE_LIMITED,
    'This capability is used faster than its rate limit; retry after the indicated delay.',
    {
      status: 429,
      details: { retryAfterMs },
    },
  );
  return withExposedHeaders(errorResponse(error), {
    [capabilityHeaders.error]: 'capability_rate_limited',
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });
}
