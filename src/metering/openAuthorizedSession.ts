import { hashCanonical } from '../core/canonical';
import type { CapabilityClaims } from '../capabilities/capabilityClaims';
import type { CapabilityToken } from '../capabilities/capabilityToken';
import { decodePaymentSignatureHeader, headerNames } from '../protocol/headers';
import { PaymentDeferredError } from '../core/errors';
import type { ExtensionBeforeContext, ExtensionVerifiedContext, PaymentRefusal } from '../server/extensions';
import type { PaymentRequirements } from '../protocol/schemas';
import type { Authorized, MeteringAuthorizer } from './meteringAuthorizer';
import type { MeteringStore } from './meteringStore';
import type { ResolvedMeteredRoute } from './meteredRoute';
import type { MeterSession } from './meterSession';

/** Seconds an authorization must stay usable after its session expires, so an expired session can still be settled. */
export const SETTLE_MARGIN_SECONDS = 600;

/** What opening a session from an authorization needs from the metering extension. */
export type AuthorizeDeps = {
  token: CapabilityToken;
  store: MeteringStore;
  authorizers: Readonly<Record<string, MeteringAuthorizer>>;
  /** Asked before a new session opens on a verified authorization (e.g. the risk controls' `afterVerify`). */
  admit?: (ctx: ExtensionVerifiedContext) => Promise<PaymentRefusal | undefined>;
};

/**
 * The request's payment taken as an authorization: `none` (no payment, or one no authorizer takes: the paywall
 * handles it as a deposit), `refused` (answer 402; nothing moved), or the session it opened (or opened already:
 * the same authorization presented again draws on its session).
 */
export type AuthorizeOutcome =
  | { kind: 'none' }
  | { kind: 'refused'; reason: string; message: string }
  | { kind: 'session'; session: MeterSession };

/**
 * Opens a metering session from an authorization presented in PAYMENT-SIGNATURE (route `settle: 'authorize'`),
 * without settling: the authorizer checks it for the route's price on its rail (the maximum), lasting beyond the
 * session's expiry plus {@link SETTLE_MARGIN_SECONDS}. The session's id is the authorization's (e.g. the permit's
 * owner and nonce), so one authorization opens one session; a different authorization with the same id (a second
 * permit over the same nonce while the first is unsettled) is refused until that session is closed.
 *
 * @example const opened = await authorizeSession(ctx, route, { token, store, authorizers }); // { kind: 'session', session }
 */
export async function authorizeSession(
  ctx: ExtensionBeforeContext,
  route: ResolvedMeteredRoute,
  deps: AuthorizeDeps,
): Promise<AuthorizeOutcome> {
  const header = ctx.request.headers.get(headerNames.paymentSignature);
  if (header === null) return { kind: 'none' };
  let payment;
  try {
    payment = decodePaymentSignatureHeader(header);
  } catch {
    return { kind: 'none' }; // malformed: the paywall answers it
  }
  const accepted = payment.accepted;
  const authorizer = Object.values(deps.authorizers).find((a) => a.supports(accepted));
  const offer = authorizer && ctx.route.config.accepts.find((o) => o.rail === authorizer.rail);
  if (!authorizer || !offer) return { kind: 'none' };
  const exp = Math.floor(ctx.now / 1000) + route.ttlSeconds;
  const payload = withExtensions(payment.payload, payment.extensions, authorizer.payloadExtensionKeys ?? []);
  const verdict = await authorizer.verify(payload, {
    max: BigInt(offer.amount),
    lastsUntil: exp + SETTLE_MARGIN_SECONDS,
    now: ctx.now,
  });
  if (!verdict.ok) return { kind: 'refused', reason: verdict.reason, message: verdict.message };
  const authorization = JSON.stringify(payload);
  const pledged = {
    kind: 'refused',
    reason: 'authorization_pledged',
    message:
      'This authorization (its permit nonce) already backs another open metering session; close that session first.',
  } as const;
  // A closed session that settled nothing never used its authorization (the nonce is free again, and the very same
  // permit may come back): the next one opens under a numbered id after it. Any other session holding the id pledges it.
  for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
    const id = generation === 0 ? verdict.id : `${verdict.id}:g${generation}`;
    const found = await deps.store.get(id);
    if (!found && deps.admit) {
      const refusal = await deps.admit({
        ...ctx,
        paymentId: id,
        rail: authorizer.rail,
        accepted,
        payload,
        payer: verdict.payer,
        amount: verdict.amount.toString(),
      });
      if (refusal?.status === 503) throw new PaymentDeferredError(refusal.reason, refusal.message, refusal.code);
      if (refusal) return { kind: 'refused', reason: refusal.reason, message: refusal.message };
    }
    const existing =
      found ??
      (await deps.store.open(await sessionOf(ctx, route, deps, accepted, authorizer.rail, verdict, authorization, id)));
    if (existing.finalReceipt && existing.refund?.status === 'none') continue;
    return existing.authorization === authorization ? { kind: 'session', session: existing } : pledged;
  }
  return pledged;
}

const MAX_GENERATIONS = 1_000;

/** The authorization as its authorizer reads it: the PaymentPayload extensions it takes folded in under `extensions`. */
function withExtensions(
  payload: Record<string, unknown>,
  extensions: Record<string, unknown> | undefined,
  keys: readonly string[],
): Record<string, unknown> {
  const { extensions: _smuggled, ...rest } = payload;
  const picked = Object.fromEntries(
    keys.filter((key) => extensions?.[key] !== undefined).map((key) => [key, extensions?.[key]]),
  );
  return Object.keys(picked).length > 0 ? { ...rest, extensions: picked } : keys.length > 0 ? rest : payload;
}

/** A new session for a verified authorization, under `id`, nothing used yet. */
async function sessionOf(
  ctx: ExtensionBeforeContext,
  route: ResolvedMeteredRoute,
  deps: AuthorizeDeps,
  accepted: PaymentRequirements,
  rail: string,
  verdict: Authorized,
  authorization: string,
  id: string,
): Promise<MeterSession> {
  const iat = Math.floor(ctx.now / 1000);
  const exp = iat + route.ttlSeconds;
  const issuer = new URL(ctx.binding.url).origin;
  const claims: CapabilityClaims = {
    v: 1,
    jti: id,
    iss: issuer,
    sub: verdict.payer,
    scope: { routes: [ctx.route.key], methods: [ctx.route.method ?? ctx.binding.method.toUpperCase()] },
    amountCap: verdict.amount.toString(),
    iat,
    exp,
    receipt: id,
    rail,
  };
  return {
    id,
    route: ctx.route.key,
    issuer,
    rail,
    scheme: accepted.scheme,
    network: accepted.network,
    asset: accepted.asset,
    payer: verdict.payer,
    payee: verdict.payee,
    depositReceipt: id,
    depositReference: verdict.id,
    requirementsHash: hashCanonical(accepted),
    challenge: '',
    token: await deps.token.issue(claims),
    authorized: verdict.amount,
    used: 0n,
    reserved: 0n,
    seq: 0,
    expiresAt: exp * 1000,
    closed: false,
    authorization,
  };
}
