import { RailUnavailableError } from '../core/errors';
import { hasChallengeHeaders, readsPayloadExtensions, type RequestBinding, type ServerRail } from '../core/rail';
import { encodePaymentRequiredHeader, headerNames } from '../protocol/headers';
import type { PaymentRequired, PaymentRequirements } from '../protocol/schemas';
import { sealOffers } from './challenge';
import { mppChallengesFor } from './mppChallenges';
import { offerOrder } from './offerOrder';
import type { PaymentFlowDeps } from './paymentFlow';
import { jsonResponse } from './responses';
import type { CompiledRoute } from './routes';

/** A 402 challenge: the response plus what it offered. */
export type Challenge = { challengeId: string; paymentRequired: PaymentRequired; response: Response };

/**
 * Quotes every offer of the route on its rail (in the server's preference order, our `exact` extensions after the
 * standard offers of their network: see {@link offerOrder}), seals them with a
 * challenge token, and answers 402 with PAYMENT-REQUIRED, plus a `WWW-Authenticate` challenge for each offer whose
 * rail speaks another protocol (L402, MPP `Payment`; MPP ones ranked by the client's `Accept-Payment`). An offer whose rail cannot quote right now
 * (its node is down) is left out; when none can be quoted the answer is 503.
 */
export async function buildChallenge(
  route: CompiledRoute,
  binding: RequestBinding,
  deps: PaymentFlowDeps,
  rejection?: { reason: string; message: string },
  acceptPayment?: string | null,
): Promise<Challenge> {
  const now = deps.now();
  const resource = { url: binding.url, description: route.config.description, mimeType: route.config.mimeType };
  const quoted = await Promise.allSettled(
    route.config.accepts.map((offer) => {
      const rail = deps.railsById.get(offer.rail);
      if (!rail) throw new RailUnavailableError(`Rail ${offer.rail} is not configured.`);
      return rail.quote(offer, { request: binding, resource, now }).then((req) => ({ rail, req }));
    }),
  );
  const quotedRails: ServerRail[] = [];
  const offers: PaymentRequirements[] = [];
  const failures: unknown[] = [];
  const fulfilled: { rail: ServerRail; req: PaymentRequirements }[] = [];
  for (const q of quoted) {
    if (q.status === 'fulfilled') fulfilled.push(q.value);
    else failures.push(q.reason);
  }
  for (const i of offerOrder(fulfilled.map((f) => f.req))) {
    const f = fulfilled[i];
    if (!f) continue;
    quotedRails.push(f.rail);
    offers.push(f.req);
  }
  if (offers.length === 0) {
    throw new RailUnavailableError('No rail of this route can quote a price right now; try again shortly.', {
      cause: failures[0],
    });
  }
  const sealed = sealOffers(deps.secret, offers, binding, now);
  const extensions: Record<string, unknown> = {};
  // Extensions the offered rails declare (e.g. `eip2612GasSponsoring`: the server submits a signed approval).
  sealed.offers.forEach((offer, i) => {
    const rail = quotedRails[i];
    if (rail && readsPayloadExtensions(rail)) Object.assign(extensions, rail.declareExtensions(offer));
  });
  for (const extension of deps.extensions) {
    if (extension.declare)
      Object.assign(
        extensions,
        await extension.declare({ route, binding, resource: stripUndefined(resource), accepts: sealed.offers, now }),
      );
  }
  if (rejection) extensions['x402-rails/rejection'] = rejection;
  const paymentRequired: PaymentRequired = {
    x402Version: 2,
    ...(rejection ? { error: rejection.reason } : {}),
    resource: stripUndefined(resource),
    accepts: sealed.offers,
    ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
  };
  const headers: Record<string, string> = {
    [headerNames.paymentRequired]: encodePaymentRequiredHeader(paymentRequired),
    'Cache-Control': 'no-store',
  };
  sealed.offers.forEach((offer, i) => {
    const rail = quotedRails[i];
    if (rail && hasChallengeHeaders(rail)) Object.assign(headers, rail.challengeHeaders(offer));
  });
  const response = jsonResponse(402, paymentRequired, headers);
  // MPP (`WWW-Authenticate: Payment`) beside x402 and L402, for every offer whose rail speaks it.
  const mpp = mppChallengesFor({
    secret: deps.secret,
    offers: sealed.offers.flatMap((offer, i) => (quotedRails[i] ? [{ offer, rail: quotedRails[i] }] : [])),
    binding,
    issuer: deps.issuer,
    description: route.config.description,
    acceptPayment,
  });
  for (const value of mpp) response.headers.append(headerNames.wwwAuthenticate, value);
  return { challengeId: sealed.challengeId, paymentRequired, response };
}

function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
