import { z } from 'zod';
import {
  MPP_SCHEME,
  decodeMppRequest,
  encodeMppRequest,
  parseMppChallengeObject,
  stripUndefined,
  type MppChallenge,
} from './mppChallenge';
import { decodeBase64UrlObject, encodeBase64UrlJson, mppMalformed, MPP_MAX_HEADER_LENGTH } from './encoding';

/**
 * A `Payment` credential: the challenge it answers (echoed whole), the method's `payload` (an EIP-3009
 * authorization, a Lightning preimage…), and an optional `source` naming the payer (a DID).
 */
export type MppCredential = { challenge: MppChallenge; payload: Record<string, unknown>; source?: string };

const WireCredentialSchema = z.object({
  challenge: z.record(z.string(), z.unknown()),
  payload: z.record(z.string(), z.unknown()),
  source: z.string().max(512).optional(),
});

/**
 * Writes `Authorization: Payment <base64url JSON>` for a credential (the echoed challenge carries `request`
 * in its encoded form).
 *
 * @example headers.set('Authorization', serializeMppCredential({ challenge, payload }))
 */
export function serializeMppCredential(credential: MppCredential): string {
  const { request, ...challenge } = credential.challenge;
  const wire = {
    challenge: { ...challenge, request: encodeMppRequest(request) },
    payload: credential.payload,
    ...(credential.source !== undefined ? { source: credential.source } : {}),
  };
  return `${MPP_SCHEME} ${encodeBase64UrlJson(wire)}`;
}

/** True when an `Authorization` value is of the Payment scheme. */
export function isMppAuthorization(header: string): boolean {
  return /^\s*payment\s+\S/i.test(header);
}

/**
 * Reads a `Payment` credential from an `Authorization` value. Throws MalformedInputError for another scheme,
 * bad base64url or JSON, or a credential that does not have the scheme's shape.
 *
 * @example const { challenge, payload } = parseMppCredential(request.headers.get('Authorization') ?? '')
 */
export function parseMppCredential(header: string): MppCredential {
  if (header.length > MPP_MAX_HEADER_LENGTH)
    throw mppMalformed(
      'Authorization',
      'too_large',
      `The Authorization value is ${header.length} characters; at most ${MPP_MAX_HEADER_LENGTH} are read.`,
    );
  const m = /^\s*payment\s+([A-Za-z0-9_\-=]+)\s*$/i.exec(header);
  if (!m?.[1])
    throw mppMalformed(
      'Authorization',
      'not_payment',
      'The Authorization value is not a Payment credential ("Payment <base64url>").',
    );
  const wire = WireCredentialSchema.safeParse(decodeBase64UrlObject(m[1], 'Authorization', 'credential'));
  if (!wire.success)
    throw mppMalformed(
      'Authorization',
      'bad_credential',
      'The Payment credential needs a challenge object, a payload object and at most a string source.',
    );
  const { request, ...rest } = wire.data.challenge;
  if (typeof request !== 'string')
    throw mppMalformed(
      'Authorization',
      'bad_credential',
      'The echoed challenge of the Payment credential has no encoded request.',
    );
  const challenge = parseMppChallengeObject(
    { ...rest, request: decodeMppRequest(request, 'Authorization') },
    'Authorization',
  );
  return stripUndefined({ challenge, payload: wire.data.payload, source: wire.data.source });
}
