import { z } from 'zod';
import { formatAuthParam, readAuthChallenges } from './authParams';
import { decodeBase64UrlObject, encodeCanonicalBase64Url, mppMalformed, MPP_MAX_REQUEST_LENGTH } from './encoding';

/** The auth scheme name of the Machine Payments Protocol (`WWW-Authenticate: Payment …`). */
export const MPP_SCHEME = 'Payment';

/** MPP header names. */
export const mppHeaderNames = {
  acceptPayment: 'Accept-Payment',
  paymentReceipt: 'Payment-Receipt',
} as const;

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * One `Payment` challenge: which payment method and intent, the method's `request` object, and the optional
 * `expires` (RFC 3339), `digest` (of the request body), `description` and `opaque` (server correlation data,
 * base64url; clients echo it untouched). `id` binds the rest (a server HMAC).
 */
export const MppChallengeSchema = z.object({
  id: z.string().min(1).max(256),
  realm: z.string().max(512),
  method: z
    .string()
    .regex(/^[a-z][a-z0-9:_-]*$/, 'a lower-case method name')
    .max(64),
  intent: z.string().min(1).max(64),
  request: z.record(z.string(), z.unknown()),
  expires: z.string().regex(ISO_DATETIME, 'an RFC 3339 date-time').optional(),
  digest: z
    .string()
    .regex(/^sha-256=/, 'sha-256=<base64>')
    .max(256)
    .optional(),
  description: z.string().max(1024).optional(),
  opaque: z
    .string()
    .max(16 * 1024)
    .optional(),
  /** Another header the credential goes in (absent: `Authorization`). */
  header: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/)
    .max(64)
    .optional(),
});

/** A `Payment` challenge (see {@link MppChallengeSchema}). */
export type MppChallenge = z.infer<typeof MppChallengeSchema>;

/** The `request` auth-param of a challenge: base64url of the JCS form of its object. */
export function encodeMppRequest(request: Record<string, unknown>): string {
  return encodeCanonicalBase64Url(request);
}

/** Decodes a `request` auth-param (or its echo in a credential). Throws MalformedInputError. */
export function decodeMppRequest(value: string, header: 'WWW-Authenticate' | 'Authorization'): Record<string, unknown> {
  return decodeBase64UrlObject(value, header, 'request', MPP_MAX_REQUEST_LENGTH);
}

/** Checks a challenge-shaped object, throwing MalformedInputError that names the fields at fault. */
export function parseMppChallengeObject(value: unknown, header: 'WWW-Authenticate' | 'Authorization'): MppChallenge {
  const parsed = MppChallengeSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw mppMalformed(header, 'bad_challenge', `The Payment challenge does not match the scheme: ${issues.join('; ')}`);
}

/**
 * Writes a challenge as a `WWW-Authenticate` value, parameters in mppx's order.
 *
 * @example headers.append('WWW-Authenticate', serializeMppChallenge(challenge)) // 'Payment id="…", realm="…", method="evm", intent="charge", request="eyJ…"'
 */
export function serializeMppChallenge(challenge: MppChallenge): string {
  const parts = [
    formatAuthParam('id', challenge.id),
    formatAuthParam('realm', challenge.realm),
    formatAuthParam('method', challenge.method),
    formatAuthParam('intent', challenge.intent),
    formatAuthParam('request', encodeMppRequest(challenge.request)),
  ];
  if (challenge.description !== undefined) parts.push(formatAuthParam('description', challenge.description));
  if (challenge.digest !== undefined) parts.push(formatAuthParam('digest', challenge.digest));
  if (challenge.expires !== undefined) parts.push(formatAuthParam('expires', challenge.expires));
  if (challenge.header !== undefined && challenge.header.toLowerCase() !== 'authorization')
    parts.push(formatAuthParam('header', challenge.header));
  if (challenge.opaque !== undefined) parts.push(formatAuthParam('opaque', challenge.opaque));
  return `${MPP_SCHEME} ${parts.join(', ')}`;
}

/**
 * Every `Payment` challenge of a `WWW-Authenticate` value (other schemes, such as L402, are skipped), in order.
 * Throws MalformedInputError when a Payment challenge is malformed (missing or duplicate parameters, a
 * `request` that is not base64url JSON, an upper-case method).
 *
 * @example parseMppChallenges(res.headers.get('WWW-Authenticate') ?? '') // [{ id, realm, method: 'evm', intent: 'charge', request: {…} }]
 */
export function parseMppChallenges(header: string): MppChallenge[] {
  const out: MppChallenge[] = [];
  for (const raw of readAuthChallenges(header)) {
    if (raw.scheme.toLowerCase() !== MPP_SCHEME.toLowerCase()) continue;
    if (raw.duplicates.length > 0)
      throw mppMalformed(
        'WWW-Authenticate',
        'duplicate_param',
        `The Payment challenge repeats ${raw.duplicates.join(', ')}.`,
      );
    const {
      request,
      id,
      realm,
      method,
      intent,
      expires,
      digest,
      description,
      opaque,
      header: credentialHeader,
    } = raw.params;
    if (request === undefined)
      throw mppMalformed('WWW-Authenticate', 'missing_request', 'The Payment challenge has no request parameter.');
    out.push(
      parseMppChallengeObject(
        stripUndefined({
          id,
          realm,
          method,
          intent,
          request: decodeMppRequest(request, 'WWW-Authenticate'),
          expires,
          digest,
          description,
          opaque,
          header: credentialHeader,
        }),
        'WWW-Authenticate',
      ),
    );
  }
  return out;
}

/** Drops undefined members (so optional schema fields stay absent). */
export function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
