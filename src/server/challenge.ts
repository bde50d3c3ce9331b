import { bytesOf, constantTimeEqual, hmacSha256, randomBytes, toBase64url } from '../core/cryptoPrimitives';
import { canonicalJson } from '../core/canonical';
import type { PaymentRequirements } from '../protocol/schemas';
import { paymentReasons } from '../protocol/reasons';

/**
 * Stateless challenge tokens. Each offer of a 402 carries `extra.challenge = <id>.<expiry>.<mac>`, an HMAC
 * over the offer itself (without the token), the HTTP method and URL. Official x402 clients echo `accepted`
 * unchanged, so the server can prove it made exactly this offer, for this request, and that it has not
 * expired, without storing anything.
 */

/** Name of the `extra` field carrying the challenge token. */
export const CHALLENGE_FIELD = 'challenge';

/** What a challenge token binds. */
export type ChallengeBinding = { method: string; url: string };

/** Adds a challenge token to each offer (all offers of one 402 share one challenge id). */
export function sealOffers(
  secret: Uint8Array,
  offers: PaymentRequirements[],
  binding: ChallengeBinding,
  now: number,
): { challengeId: string; offers: PaymentRequirements[] } {
  const challengeId = toBase64url(randomBytes(12));
  const sealed = offers.map((offer) => {
    const expiry = Math.floor(now / 1000) + offer.maxTimeoutSeconds;
    const mac = macOf(secret, challengeId, expiry, offer, binding);
    return { ...offer, extra: { ...offer.extra, [CHALLENGE_FIELD]: `${challengeId}.${expiry}.${mac}` } };
  });
  return { challengeId, offers: sealed };
}

/** Result of {@link openChallenge}. */
export type OpenedChallenge =
  | { ok: true; challengeId: string; expiresAt: number }
  | { ok: false; reason: 'challenge_missing' | 'challenge_invalid' | 'challenge_expired'; message: string };

/** Checks that `accepted` is an offer this server sealed for this request and that it is still valid. */
export function openChallenge(
  secret: Uint8Array,
  accepted: PaymentRequirements,
  binding: ChallengeBinding,
  now: number,
): OpenedChallenge {
  const token = accepted.extra[CHALLENGE_FIELD];
  if (typeof token !== 'string') {
    return {
      ok: false,
      reason: paymentReasons.CHALLENGE_MISSING,
      message:
        'The payment does not echo an offer of this server (no challenge). Pay one of the offers of a fresh 402.',
    };
  }
  const m = /^([A-Za-z0-9_-]{16})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m)
    return {
      ok: false,
      reason: paymentReasons.CHALLENGE_INVALID,
      message: 'The echoed offer carries a malformed challenge.',
    };
  const [, challengeId = '', expiryText = '', mac = ''] = m;
  const expiry = Number(expiryText);
  const { [CHALLENGE_FIELD]: _omit, ...extra } = accepted.extra;
  const expected = macOf(secret, challengeId, expiry, { ...accepted, extra }, binding);
  if (!constantTimeEqual(bytesOf(mac), bytesOf(expected))) {
    return {
      ok: false,
      reason: paymentReasons.CHALLENGE_INVALID,
      message:
        'The echoed offer differs from what this server offered for this request (altered, or made for another route).',
    };
  }
  if (expiry * 1000 < now)
    return {
      ok: false,
      reason: paymentReasons.CHALLENGE_EXPIRED,
      message: 'The offer expired. Pay one of the offers of a fresh 402.',
    };
  return { ok: true, challengeId, expiresAt: expiry * 1000 };
}

function macOf(
  secret: Uint8Array,
  challengeId: string,
  expiry: number,
  offer: PaymentRequirements,
  binding: ChallengeBinding,
): string {
  return toBase64url(
    hmacSha256(secret, canonicalJson({ challengeId, expiry, offer, method: binding.method, url: binding.url })),
  );
}
