import { MalformedInputError, errorCodes } from './errors';

/** Largest header value x402-rails decodes (bytes of base64). Larger values are refused before decoding. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Deepest JSON nesting accepted inside a header. */
export const MAX_JSON_DEPTH = 16;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Standard base64 (with padding) of UTF-8 JSON, as x402 v2 headers carry it. */
export function encodeBase64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

/** Options for {@link decodeBase64Json}. */
export type DecodeBase64JsonOptions = { maxBytes?: number; maxDepth?: number; what?: string };

/**
 * Decodes a base64 JSON header value with bounds: size, alphabet, JSON syntax and nesting depth.
 * Throws {@link MalformedInputError} (HTTP 400) with a precise code; never returns partial data.
 *
 * @example decodeBase64Json(request.headers.get('PAYMENT-SIGNATURE')!, { what: 'PAYMENT-SIGNATURE' })
 */
export function decodeBase64Json(value: string, options: DecodeBase64JsonOptions = {}): unknown {
  const what = options.what ?? 'header';
  const maxBytes = options.maxBytes ?? MAX_HEADER_BYTES;
  const trimmed = value.trim();
  if (trimmed.length > maxBytes) {
    throw new MalformedInputError(
      errorCodes.HEADER_TOO_LARGE,
      `${what} is ${trimmed.length} bytes; the limit is ${maxBytes}.`,
      {
        details: { size: trimmed.length, limit: maxBytes },
      },
    );
  }
  // Some clients send base64url or drop padding; accept both spellings, refuse anything else.
  let normalized = trimmed;
  if (!BASE64.test(normalized)) {
    if (!BASE64URL.test(normalized.replace(/=+$/, ''))) {
      throw new MalformedInputError(
        errorCodes.HEADER_BAD_BASE64,
        `${what} is not base64. Send standard base64 of the JSON object.`,
      );
    }
    normalized = normalized.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    normalized += '='.repeat((4 - (normalized.length % 4)) % 4);
    if (!BASE64.test(normalized)) {
      throw new MalformedInputError(
        errorCodes.HEADER_BAD_BASE64,
        `${what} is not base64. Send standard base64 of the JSON object.`,
      );
    }
  }
  const text = Buffer.from(normalized, 'base64').toString('utf8');
  return parseBoundedJson(text, { what, maxDepth: options.maxDepth ?? MAX_JSON_DEPTH });
}

/** Parses JSON text, refusing syntax errors and nesting deeper than `maxDepth` with typed errors. */
export function parseBoundedJson(text: string, options: { what?: string; maxDepth?: number } = {}): unknown {
  const what = options.what ?? 'JSON';
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  assertDepth(text, maxDepth, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new MalformedInputError(errorCodes.HEADER_BAD_JSON, `${what} does not hold valid JSON.`, { cause });
  }
}

/** Scans brackets outside strings before parsing, so a deeply nested bomb is refused without recursion. */
function assertDepth(text: string, maxDepth: number, what: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw new MalformedInputError(errorCodes.HEADER_TOO_DEEP, `${what} nests deeper than ${maxDepth} levels.`, {
          details: { limit: maxDepth },
        });
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
