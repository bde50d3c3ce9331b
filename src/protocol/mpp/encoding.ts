import { canonicalJson } from '../../core/canonical';
import { MalformedInputError, errorCodes } from '../errors';
import { parseBoundedJson } from '../jsonCodec';

/**
 * The encodings of the `Payment` HTTP authentication scheme (MPP): JSON objects travel as base64url without
 * padding; the challenge's `request` is the JSON Canonicalization Scheme (RFC 8785) form of its object, so
 * it can be HMAC-bound and compared byte for byte. Decoding accepts padding, as the specification asks.
 */

/** Largest header value of the Payment scheme read, in characters. */
export const MPP_MAX_HEADER_LENGTH = 32 * 1024;
/** Largest `request` auth-param read (mppx refuses larger ones too). */
export const MPP_MAX_REQUEST_LENGTH = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Which header a malformed value came from (for the error's details). */
export type MppHeaderName = 'WWW-Authenticate' | 'Authorization' | 'Payment-Receipt' | 'Accept-Payment';

/** A 400 error about a malformed Payment-scheme header, with a machine-readable `reason` in its details. */
export function mppMalformed(
  header: MppHeaderName,
  reason: string,
  message: string,
  cause?: unknown,
): MalformedInputError {
  return new MalformedInputError(errorCodes.HEADER_SCHEMA, message, {
    details: { header, reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** base64url (no padding) of the UTF-8 JSON of `value`. */
export function encodeBase64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** base64url (no padding) of the canonical JSON (JCS) of `value`: the `request` auth-param. */
export function encodeCanonicalBase64Url(value: unknown): string {
  return Buffer.from(canonicalJson(value), 'utf8').toString('base64url');
}

/**
 * Decodes base64url (padding optional) JSON, bounded in size and depth. Throws {@link MalformedInputError}.
 *
 * @example decodeBase64UrlJson(token, 'Authorization', 16 * 1024)
 */
export function decodeBase64UrlJson(
  value: string,
  header: MppHeaderName,
  maxLength: number = MPP_MAX_HEADER_LENGTH,
): unknown {
  if (value.length > maxLength)
    throw mppMalformed(
      header,
      'too_large',
      `A ${header} value is ${value.length} characters; at most ${maxLength} are read.`,
    );
  if (!BASE64URL.test(value) || value.replace(/=+$/, '').length % 4 === 1) {
    throw mppMalformed(header, 'bad_base64url', `The ${header} value is not base64url.`);
  }
  const text = Buffer.from(value.replace(/=+$/, ''), 'base64url').toString('utf8');
  try {
    return parseBoundedJson(text, { what: header });
  } catch (cause) {
    throw mppMalformed(header, 'bad_json', `The ${header} value does not hold valid JSON.`, cause);
  }
}

/** Decodes base64url JSON that must be an object (`request`, a credential, a receipt). */
export function decodeBase64UrlObject(
  value: string,
  header: MppHeaderName,
  what: string,
  maxLength?: number,
): Record<string, unknown> {
  const decoded = decodeBase64UrlJson(value, header, maxLength);
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw mppMalformed(header, 'not_an_object', `The ${what} of the ${header} value is not a JSON object.`);
  }
  return decoded as Record<string, unknown>;
}
