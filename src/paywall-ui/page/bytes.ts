/** Byte helpers for the page (no Buffer in browsers). */

/** Standard base64 with padding (the x402 header encoding). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Decodes standard or url-safe base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const normal = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(normal + '='.repeat((4 - (normal.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** base64url without padding (JWS). */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** UTF-8 JSON → standard base64 (PAYMENT-SIGNATURE). */
export function jsonToBase64(value: unknown): string {
  return toBase64(new TextEncoder().encode(JSON.stringify(value)));
}

/** Standard base64 → parsed UTF-8 JSON (PAYMENT-RESPONSE). */
export function base64ToJson(text: string): unknown {
  return JSON.parse(new TextDecoder().decode(fromBase64(text)));
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
