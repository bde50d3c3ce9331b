import { bytesOf, constantTimeEqual, hmacSha256, toBase64url } from '../core/cryptoPrimitives';
import { canonicalJson } from '../core/canonical';
import { MalformedInputError } from '../core/errors';
import { speaksMppServer, type MppServerRail } from '../core/mppRail';
import type { RailPayload, RequestBinding, ServerRail } from '../core/rail';
import { rankByAcceptPayment } from '../protocol/mpp/acceptPayment';
import { decodeBase64UrlObject, encodeCanonicalBase64Url } from '../protocol/mpp/encoding';
import {
  encodeMppRequest,
  serializeMppChallenge,
  stripUndefined,
  type MppChallenge,
} from '../protocol/mpp/mppChallenge';
import { parseMppCredential } from '../protocol/mpp/mppCredential';
import { parseWire } from '../protocol/headers';
import { PaymentRequirementsSchema, type PaymentRequirements } from '../protocol/schemas';
import { CHALLENGE_FIELD, openChallenge } from './challenge';
import { paymentReasons } from '../protocol/reasons';

/**
 * MPP challenges of a 402, stateless and bound as the x402 offers are. Each sealed offer whose rail speaks MPP
 * becomes one `WWW-Authenticate: Payment` challenge: `request` is the rail's reading of the offer, `opaque` the
 * sealed offer itself (whose x402 token binds method, URL and expiry), `expires` that expiry, and `id` an HMAC
 * over every parameter plus the request's method and URL. A credential is accepted only when its echoed
 * challenge carries the id this server computes for it here, for this request, before it expired.
 */

/** What an MPP challenge is bound to besides its own parameters. */
type Binding = Pick<RequestBinding, 'method' | 'url'>;

/** The realm of our challenges: the issuer's host (the request's, when the paywall has no issuer). */
export function mppRealm(issuer: string | undefined, binding: Binding): string {
  return new URL(issuer ?? binding.url).host;
}

function idOf(secret: Uint8Array, c: Omit<MppChallenge, 'id'>, binding: Binding): string {
  const bound = {
    v: 'mpp-1',
    realm: c.realm,
    method: c.method,
    intent: c.intent,
    request: encodeMppRequest(c.request),
    expires: c.expires ?? '',
    digest: c.digest ?? '',
    description: c.description ?? '',
    opaque: c.opaque ?? '',
    header: c.header ?? '',
    httpMethod: binding.method,
    url: binding.url,
  };
  return toBase64url(hmacSha256(secret, canonicalJson(bound)));
}

/**
 * The `WWW-Authenticate` values of the MPP challenges for sealed offers (same order as the offers; ranked by
 * the client's `Accept-Payment` when it sent one, entries weighted 0 left out).
 */
export function mppChallengesFor(p: {
  secret: Uint8Array;
  offers: readonly { offer: PaymentRequirements; rail: ServerRail }[];
  binding: Binding;
  issuer: string | undefined;
  description?: string | undefined;
  acceptPayment?: string | null | undefined;
}): string[] {
  const realm = mppRealm(p.issuer, p.binding);
  const challenges: MppChallenge[] = [];
  for (const { offer, rail } of p.offers) {
    if (!speaksMppServer(rail)) continue;
    const request = rail.mpp.request(offer);
    const expiry = expiryOf(offer);
    if (!request || expiry === undefined) continue;
    const unsigned = stripUndefined({
      realm,
      method: rail.mpp.method,
      intent: rail.mpp.intent,
      request,
      expires: new Date(expiry * 1000).toISOString(),
      description: p.description,
      opaque: encodeCanonicalBase64Url(offer),
    });
    challenges.push({ id: idOf(p.secret, unsigned, p.binding), ...unsigned });
  }
  return rankByAcceptPayment(challenges, p.acceptPayment).map(serializeMppChallenge);
}

/** The expiry (unix seconds) the offer's x402 challenge token carries. */
function expiryOf(offer: PaymentRequirements): number | undefined {
  const token = offer.extra[CHALLENGE_FIELD];
  const m = typeof token === 'string' ? /^[^.]+\.([0-9]{1,12})\./.exec(token) : null;
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** A credential opened: the rail, the offer it pays, the rail payload, and the challenge id (for receipts). */
export type OpenedMppCredential = {
  rail: MppServerRail;
  accepted: PaymentRequirements;
  payload: RailPayload;
  challengeId: string;
};

/**
 * Reads an `Authorization: Payment` credential and checks it answers a challenge this server made for this
 * request: the id recomputed over the echoed parameters (altered `request`, `opaque`, `expires`, or made for
 * another route or method → `challenge_invalid`), not expired (`challenge_expired`), an offer of one of the
 * route's rails that speaks the method (`unsupported_offer`), and the method's own binding (the rail's `payload`).
 * Throws MalformedInputError for a malformed header.
 */
export function openMppCredential(p: {
  header: string;
  secret: Uint8Array;
  binding: Binding;
  rails: readonly ServerRail[];
  now: number;
}): OpenedMppCredential | { reason: string; message: string } {
  const credential = parseMppCredential(p.header);
  const { id, ...rest } = credential.challenge;
  const expected = idOf(p.secret, rest, p.binding);
  if (!constantTimeEqual(bytesOf(id), bytesOf(expected))) {
    return {
      reason: paymentReasons.CHALLENGE_INVALID,
      message:
        'The Payment credential echoes a challenge this server did not make for this request (altered, or made for another route). Pay a fresh challenge.',
    };
  }
  if (rest.expires !== undefined && Date.parse(rest.expires) <= p.now) {
    return {
      reason: paymentReasons.CHALLENGE_EXPIRED,
      message: 'The Payment challenge expired. Pay a fresh challenge.',
    };
  }
  if (rest.opaque === undefined)
    return {
      reason: paymentReasons.CHALLENGE_INVALID,
      message: 'The Payment challenge carries no offer of this server.',
    };
  let offer: PaymentRequirements;
  try {
    offer = parseWire(
      PaymentRequirementsSchema,
      decodeBase64UrlObject(rest.opaque, 'Authorization', 'opaque'),
      'The Payment challenge offer',
    );
  } catch (error) {
    if (error instanceof MalformedInputError)
      return {
        reason: paymentReasons.CHALLENGE_INVALID,
        message: 'The Payment challenge carries no readable offer of this server.',
      };
    throw error;
  }
  // The sealed offer's own token binds it to this request as well (defence in depth; the id already did).
  const opened = openChallenge(p.secret, offer, p.binding, p.now);
  if (!opened.ok) return opened;
  const rail = p.rails.find(
    (r): r is MppServerRail =>
      speaksMppServer(r) && r.mpp.method === rest.method && r.mpp.intent === rest.intent && r.supports(offer),
  );
  if (!rail)
    return {
      reason: paymentReasons.UNSUPPORTED_OFFER,
      message: `No rail of this route takes ${rest.method}/${rest.intent} payments for this offer.`,
    };
  const request = rail.mpp.request(offer);
  if (request === undefined || canonicalJson(request) !== canonicalJson(rest.request)) {
    return {
      reason: paymentReasons.CHALLENGE_INVALID,
      message: 'The Payment challenge request differs from the offer it was made for.',
    };
  }
  const read = rail.mpp.payload(credential, offer);
  if (!('payload' in read)) return read;
  return { rail, accepted: offer, payload: read.payload, challengeId: id };
}
