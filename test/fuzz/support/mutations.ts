/**
 * fast-check arbitraries for hostile header values: random text, random base64, and mutations of a VALID
 * header (flipped bytes, truncation, JSON re-encoded with a changed, removed or added field, huge values,
 * deeply nested JSON, unicode). Every value is passed through {@link asWireHeader}, so it is exactly what a
 * node:http server would hand the paywall for bytes a client put on the wire.
 */
import fc from 'fast-check';

/** JSON-like values without `__proto__` keys (those are the parser's business, not the fuzz's). */
const json = fc.jsonValue({ maxDepth: 3 });

/**
 * The string node:http gives a handler for a header whose bytes were the UTF-8 of `text`: decoded as latin1,
 * CR, LF and NUL (which a client cannot send inside a value) removed, surrounding whitespace trimmed.
 *
 * @example asWireHeader('café') // 'cafÃ©'
 */
export function asWireHeader(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[\r\n\0]/g, '')
    .trim();
}

const b64 = (bytes: Uint8Array | string, url = false): string =>
  Buffer.from(bytes).toString(url ? 'base64url' : 'base64');

/** Decodes a base64 header into its JSON object (for mutation), or undefined when it is not one. */
function jsonOf(header: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Every path (list of keys) into a JSON object, objects and leaves alike. */
function pathsOf(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const path = [...prefix, key];
      out.push(path);
      pathsOf(child, path, out);
    }
  }
  return out;
}

/** A deep copy of `root` with the value at `path` replaced (or removed when `next` is undefined). */
function withPath(root: Record<string, unknown>, path: string[], next: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let node: unknown = copy;
  for (const key of path.slice(0, -1)) node = (node as Record<string, unknown>)[key];
  const last = path[path.length - 1];
  if (typeof node !== 'object' || node === null || last === undefined) return copy;
  const record = node as Record<string, unknown>;
  if (next === undefined) delete record[last];
  else record[last] = next;
  return copy;
}

/** JSON nested `depth` levels deep, as text (no recursion, so a huge depth is cheap to build). */
export function deepJsonText(depth: number, open = '{"a":', close = '}'): string {
  return `${open.repeat(depth)}1${close.repeat(depth)}`;
}

/** A value a field may be changed to: another JSON value, a near miss of money fields, or unicode. */
const replacement = fc.oneof(
  json,
  fc.constantFrom(
    '',
    '0',
    '-1',
    '1e3',
    '0x10',
    ' 1',
    '99999999999999999999999999999999999999999999999999999999999999999999999999999999',
    null,
    true,
    [],
    {},
  ),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
);

/**
 * Mutations of one valid base64-JSON header (PAYMENT-SIGNATURE, X-PAYMENT…), as wire header values.
 *
 * @example fc.assert(fc.asyncProperty(mutatedBase64Json(validHeader), async (h) => { … }))
 */
export function mutatedBase64Json(valid: string): fc.Arbitrary<string> {
  const bytes = Buffer.from(valid, 'base64');
  const object = jsonOf(valid);
  const paths = object ? pathsOf(object) : [];
  const anyPath = paths.length > 0 ? fc.constantFrom(...paths) : fc.constant<string[]>([]);
  const mutations: Array<fc.Arbitrary<string>> = [
    // flip one or a few bits of the decoded bytes, re-encode
    fc
      .array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((flips) => {
        const copy = Buffer.from(bytes);
        for (const [at, mask] of flips) copy[at] = (copy[at] ?? 0) ^ mask;
        return b64(copy);
      }),
    // flip a character of the base64 text itself
    fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.constantFrom('A', '/', '+', '-', '_', '=', '!', ' ', '%', 'é'))
      .map(([at, c]) => valid.slice(0, at) + c + valid.slice(at + 1)),
    // truncated text or truncated bytes
    fc.nat({ max: valid.length - 1 }).map((n) => valid.slice(0, n)),
    fc.nat({ max: bytes.length - 1 }).map((n) => b64(bytes.subarray(0, n))),
    // the same JSON, spelled differently: base64url, no padding, surrounding junk
    fc.constantFrom(
      b64(bytes, true),
      valid.replace(/=+$/, ''),
      `${valid}==`,
      `  ${valid}\t`,
      `${valid},${valid}`,
      valid.toLowerCase(),
    ),
  ];
  if (object) {
    mutations.push(
      // one field changed, removed, or an unknown field added
      fc.tuple(anyPath, replacement).map(([path, value]) => b64(JSON.stringify(withPath(object, path, value)))),
      anyPath.map((path) => b64(JSON.stringify(withPath(object, path, undefined)))),
      fc
        .tuple(anyPath, fc.string({ maxLength: 12 }), replacement)
        .map(([path, key, value]) => b64(JSON.stringify(withPath(object, [...path, key], value)))),
      // unicode inside string fields
      fc
        .tuple(anyPath, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }))
        .map(([path, text]) => b64(JSON.stringify(withPath(object, path, text)))),
      // the payment wrapped in deep nesting, or a deep value planted in a field
      fc
        .integer({ min: 17, max: 3000 })
        .map((depth) => b64(`${'['.repeat(depth)}${JSON.stringify(object)}${']'.repeat(depth)}`)),
      fc.tuple(anyPath, fc.integer({ min: 10, max: 2000 })).map(([path, depth]) => {
        const marker = '"__deep__"';
        return b64(JSON.stringify(withPath(object, path, '__deep__')).replace(marker, deepJsonText(depth)));
      }),
      // huge: a large field, or the whole header repeated
      fc
        .tuple(anyPath, fc.integer({ min: 1_000, max: 40_000 }))
        .map(([path, n]) => b64(JSON.stringify(withPath(object, path, 'x'.repeat(n))))),
      fc.integer({ min: 2, max: 20 }).map((n) => valid.repeat(n)),
      // not an object at the root
      fc.constantFrom(b64('null'), b64('[]'), b64('"x"'), b64('2'), b64(JSON.stringify([object]))),
    );
  }
  return fc.oneof(...mutations).map(asWireHeader);
}

/** Random header values: text of every unit, base64 of random bytes and of random JSON. */
export const randomHeader: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 100 }),
    fc.uint8Array({ maxLength: 600 }).map((bytes) => b64(bytes)),
    fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([bytes, url]) => b64(bytes, url)),
    json.map((value) => b64(JSON.stringify(value))),
    fc.integer({ min: 1, max: 200_000 }).map((n) => 'A'.repeat(n)),
  )
  .map(asWireHeader);

/**
 * Mutations of one valid L402 `Authorization` value (`L402 <macaroon>:<preimage>`): the macaroon and preimage
 * mutated separately, the scheme changed, separators moved, huge and unicode values.
 */
export function mutatedL402Authorization(macaroon: string, preimage: string): fc.Arbitrary<string> {
  const bytes = Buffer.from(macaroon, 'base64');
  const macaroonMutation = fc.oneof(
    fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
      const copy = Buffer.from(bytes);
      copy[at] = (copy[at] ?? 0) ^ mask;
      return b64(copy);
    }),
    fc.nat({ max: bytes.length - 1 }).map((n) => b64(bytes.subarray(0, n))),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => b64(Buffer.concat([bytes, extra]))),
    fc.constantFrom(
      b64(bytes, true),
      macaroon.replace(/=+$/, ''),
      '',
      '=',
      `${macaroon},${macaroon}`,
      `${macaroon},`.repeat(9),
    ),
    fc.integer({ min: 1, max: 40_000 }).map((n) => 'A'.repeat(n)),
  );
  const preimageMutation = fc.oneof(
    fc.constant(preimage),
    fc.nat({ max: preimage.length - 1 }).map((n) => preimage.slice(0, n)),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
    fc.constantFrom(preimage.toUpperCase(), `${preimage}0`, '', `0x${preimage}`, preimage.replace(/./, 'g')),
    fc.string({ unit: 'grapheme', maxLength: 64 }),
  );
  return fc
    .oneof(
      fc
        .tuple(
          fc.constantFrom('L402', 'LSAT', 'l402', 'Bearer', 'L402L402', ''),
          macaroonMutation,
          fc.constantFrom(':', '::', ' : ', ''),
          preimageMutation,
        )
        .map(([scheme, mac, colon, pre]) => `${scheme} ${mac}${colon}${pre}`),
      fc
        .tuple(fc.constantFrom('L402', 'LSAT'), fc.string({ unit: 'grapheme', maxLength: 80 }))
        .map(([scheme, text]) => `${scheme} ${text}`),
      fc.tuple(fc.nat({ max: 200 }), fc.string({ unit: 'binary', maxLength: 3 })).map(([at, c]) => {
        const valid = `L402 ${macaroon}:${preimage}`;
        const i = at % valid.length;
        return valid.slice(0, i) + c + valid.slice(i + 1);
      }),
    )
    .map(asWireHeader);
}
