import { canonicalJson } from './canonicalJson';
import { sha256, toBase64url } from './cryptoPrimitives';

/** Canonical JSON lives apart from the hashing (it imports nothing, so the browser pages bundle it too). */
export { canonicalJson };

/** base64url SHA-256 of bytes or a UTF-8 string. */
export function sha256Base64Url(data: Uint8Array | string): string {
  return toBase64url(sha256(data));
}

/** base64url SHA-256 of the canonical JSON of `value`. */
export function hashCanonical(value: unknown): string {
  return sha256Base64Url(canonicalJson(value));
}
