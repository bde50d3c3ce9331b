import { describe, expect, it } from 'vitest';
import { MalformedInputError, errorCodes } from '../../src/core/errors';
import {
  MAX_HEADER_BYTES,
  MAX_JSON_DEPTH,
  decodeBase64Json,
  encodeBase64Json,
  parseBoundedJson,
} from '../../src/protocol/jsonCodec';

/** Runs `fn` and returns the MalformedInputError it throws (fails the test otherwise). */
function malformed(fn: () => unknown): MalformedInputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedInputError);
    if (error instanceof MalformedInputError) {
      expect(error.status).toBe(400);
      return error;
    }
  }
  throw new Error('expected a MalformedInputError, nothing was thrown');
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('encodeBase64Json / decodeBase64Json', () => {
  it('round-trips JSON through standard padded base64', () => {
    const value = { a: 1, b: 'ü€😀', c: [true, null, { d: '' }] };
    const encoded = encodeBase64Json(value);
    expect(encoded).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    expect(encoded.length % 4).toBe(0);
    expect(decodeBase64Json(encoded)).toEqual(value);
  });

  it('accepts base64url and unpadded spellings of the same bytes', () => {
    // '>>>?' has bytes that encode to '+' and '/' in standard base64.
    const value = { s: '>>>???~~~', n: 12 };
    const standard = encodeBase64Json(value);
    expect(standard).toMatch(/[+/]/);
    const url = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    expect(url).not.toMatch(/[+/=]/);
    expect(decodeBase64Json(url)).toEqual(value);
    for (const padded of [{ s: 'ab' }, { s: 'abc' }]) {
      const standardPadded = encodeBase64Json(padded);
      const unpadded = standardPadded.replace(/=+$/, '');
      expect(unpadded).not.toBe(standardPadded);
      expect(decodeBase64Json(unpadded)).toEqual(padded);
    }
    expect(decodeBase64Json(`  ${standard}\t`)).toEqual(value);
  });

  it('refuses values larger than the limit before decoding, with size and limit in details', () => {
    const big = 'A'.repeat(MAX_HEADER_BYTES + 4);
    const error = malformed(() => decodeBase64Json(big, { what: 'PAYMENT-SIGNATURE' }));
    expect(error.code).toBe(errorCodes.HEADER_TOO_LARGE);
    expect(error.code).toBe('PROTOCOL__HEADER__TOO_LARGE');
    expect(error.details).toEqual({ size: MAX_HEADER_BYTES + 4, limit: MAX_HEADER_BYTES });
    expect(error.message).toContain('PAYMENT-SIGNATURE');
    // exactly at the limit is not "too large"
    const atLimit = encodeBase64Json({ pad: 'x'.repeat(Math.floor((MAX_HEADER_BYTES * 3) / 4) - 20) });
    expect(atLimit.length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
    expect(() => decodeBase64Json(atLimit)).not.toThrow();
    expect(malformed(() => decodeBase64Json(encodeBase64Json({ a: 'x'.repeat(100) }), { maxBytes: 50 })).code).toBe(
      errorCodes.HEADER_TOO_LARGE,
    );
  });

  it.each([
    ['characters outside both alphabets', 'eyJh!!!'],
    ['inner whitespace', 'eyJh IjoxfQ=='],
    ['a lone trailing character (length 1 mod 4)', 'eyJhIjoxfQ=eA'],
    ['mixed standard and url alphabets', 'ab+_'],
    ['padding in the middle', 'ab==cd=='],
    ['a single character', 'A'],
  ])('refuses %s with BAD_BASE64', (_label, value) => {
    expect(malformed(() => decodeBase64Json(value)).code).toBe(errorCodes.HEADER_BAD_BASE64);
  });

  it.each([
    ['plain text', 'hello world'],
    ['truncated JSON', '{"a": 1'],
    ['trailing garbage', '{"a": 1} x'],
    ['empty', ''],
    ['a JS literal that is not JSON', "{a: 'b'}"],
  ])('refuses valid base64 of %s with BAD_JSON and keeps the cause', (_label, text) => {
    const error = malformed(() => decodeBase64Json(b64(text)));
    expect(error.code).toBe(errorCodes.HEADER_BAD_JSON);
    expect(error.code).toBe('PROTOCOL__HEADER__BAD_JSON');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('refuses 10,000-deep nesting with TOO_DEEP, without a stack overflow', () => {
    const arrays = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const objects = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    for (const text of [arrays, objects]) {
      const error = malformed(() => parseBoundedJson(text));
      expect(error.code).toBe(errorCodes.HEADER_TOO_DEEP);
      expect(error.details).toEqual({ limit: MAX_JSON_DEPTH });
    }
    // the same bomb inside a header (an unclosed one fits under the size limit)
    const header = b64('['.repeat(10_000));
    expect(header.length).toBeLessThan(MAX_HEADER_BYTES);
    expect(malformed(() => decodeBase64Json(header)).code).toBe('PROTOCOL__HEADER__TOO_DEEP');
    // and with a larger size limit, the closed form too
    expect(malformed(() => decodeBase64Json(b64(arrays), { maxBytes: 1_000_000 })).code).toBe(
      errorCodes.HEADER_TOO_DEEP,
    );
  });

  it('counts depth exactly: the limit passes, one more fails', () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(parseBoundedJson(nest(MAX_JSON_DEPTH))).toBeDefined();
    expect(malformed(() => parseBoundedJson(nest(MAX_JSON_DEPTH + 1))).code).toBe(errorCodes.HEADER_TOO_DEEP);
    expect(malformed(() => parseBoundedJson(nest(4), { maxDepth: 3 })).code).toBe(errorCodes.HEADER_TOO_DEEP);
  });

  it('does not count brackets inside strings (including after escaped quotes)', () => {
    const value = { s: `${'['.repeat(100)}\\"${'{'.repeat(100)}`, t: '\\' };
    expect(parseBoundedJson(JSON.stringify(value))).toEqual(value);
    expect(decodeBase64Json(encodeBase64Json(value))).toEqual(value);
  });

  it('cannot be tricked into skipping depth by leading closing brackets', () => {
    // "]]]]" first would drive a naive counter negative; the text is not JSON anyway, so it must not parse
    const text = `${']'.repeat(50)}${'['.repeat(40)}`;
    const error = malformed(() => parseBoundedJson(text));
    expect([errorCodes.HEADER_TOO_DEEP, errorCodes.HEADER_BAD_JSON]).toContain(error.code);
  });
});
