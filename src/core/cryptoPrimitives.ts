/**
 * The hashing, MAC and randomness the core needs, on every runtime: SHA-256 and HMAC from @noble/hashes (pure JS,
 * synchronous, audited), random bytes and ids from Web Crypto's `crypto.getRandomValues` / `crypto.randomUUID`
 * (Node ≥ 19, browsers, Workers, Deno, Bun). Nothing here imports `node:crypto`, so the client, the protocol and the
 * paywall core bundle for the browser.
 */
import { hmac } from '@noble/hashes/hmac';
import { bytesToHex } from '@noble/hashes/utils';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2';
import { base64url } from 'jose';

/** Base64url without padding of `bytes`, as `Buffer#toString('base64url')` writes it. */
export const toBase64url = (bytes: Uint8Array): string => base64url.encode(bytes);

/** Bytes of `data` (UTF-8 for a string). */
export function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/**
 * SHA-256 of `data` (UTF-8 for a string).
 *
 * @example sha256('abc').length; // 32
 */
export function sha256(data: string | Uint8Array): Uint8Array {
  return nobleSha256(bytesOf(data));
}

/**
 * HMAC-SHA-256 of `data` under `key`.
 *
 * @example hmacSha256(secret, 'GET /report');
 */
export function hmacSha256(key: string | Uint8Array, data: string | Uint8Array): Uint8Array {
  return hmac(nobleSha256, bytesOf(key), bytesOf(data));
}

/**
 * `n` cryptographically random bytes.
 *
 * @example randomBytes(32); // a fresh secret
 */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** A random RFC 4122 version 4 UUID. */
export function randomUUID(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * True when `a` and `b` hold the same bytes, in time that depends only on their lengths.
 *
 * @example constantTimeEqual(bytesOf(mac), bytesOf(expected));
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Lower-case hex of `bytes`. */
export const toHex = (bytes: Uint8Array): string => bytesToHex(bytes);
