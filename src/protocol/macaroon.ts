/**
 * Macaroons (V2 binary format, as libmacaroons and lnd's gopkg.in/macaroon.v2 write them), on HMAC-SHA-256 alone.
 *
 * Why our own: npm `macaroon@3.0.4` (ln-service's dependency) cannot export a macaroon with four or more
 * caveats. Importing and verifying with it work, and the tests prove both directions interoperate.
 *
 * Signature chain, exactly as libmacaroons:
 *   sig0 = HMAC-SHA256(key = HMAC-SHA256("macaroons-key-generator", rootKey), identifier)
 *   sig_i = HMAC-SHA256(key = sig_{i-1}, caveat_i)
 *
 * V2 binary layout: `0x02`, [location field], identifier field, EOS, then per caveat
 * ([location], identifier, [verification id], EOS), then EOS, then the signature field.
 * A field is `type byte ‖ uvarint length ‖ bytes`; EOS is the single byte `0x00`.
 */
import { constantTimeEqual, hmacSha256 } from '../core/cryptoPrimitives';
import { MalformedInputError, errorCodes } from './errors';

/** One caveat. First-party caveats carry only `identifier` (usually a `condition=value` string in UTF-8). */
export type MacaroonCaveat = {
  /** The caveat's identifier (the condition, for a first-party caveat). */
  readonly identifier: Uint8Array;
  /** Third-party caveats only: where to get the discharge. */
  readonly location?: string;
  /** Third-party caveats only: the encrypted caveat root key (verification id). */
  readonly verificationId?: Uint8Array;
};

/** An immutable macaroon. Build with {@link createMacaroon} and {@link addFirstPartyCaveat}. */
export type Macaroon = {
  /** Optional hint where the macaroon is meant to be used (not covered by the signature). */
  readonly location?: string;
  readonly identifier: Uint8Array;
  readonly caveats: readonly MacaroonCaveat[];
  /** 32-byte HMAC-SHA256 chain signature. */
  readonly signature: Uint8Array;
};

/** Parameters of {@link createMacaroon}. */
export type CreateMacaroonParameters = {
  /** Secret root key: any length, 32 random bytes recommended. Never log it. */
  rootKey: Uint8Array;
  /** Public identifier (bytes, or a string taken as UTF-8). */
  identifier: Uint8Array | string;
  /** Optional location hint. */
  location?: string;
};

/** Bounds applied by {@link parseMacaroonV2}. */
export type ParseMacaroonOptions = {
  /** Largest serialized macaroon accepted, in bytes. Default {@link MACAROON_MAX_BYTES}. */
  maxBytes?: number;
  /** Most caveats accepted. Default {@link MACAROON_MAX_CAVEATS}. */
  maxCaveats?: number;
};

/** Default bound on a serialized macaroon (bytes). */
export const MACAROON_MAX_BYTES = 16 * 1024;
/** Default bound on the number of caveats. */
export const MACAROON_MAX_CAVEATS = 64;

const SIGNATURE_LENGTH = 32;
const VERSION_V2 = 2;
const FIELD_EOS = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;
const FIELD_VID = 4;
const FIELD_SIGNATURE = 6;
const KEY_GENERATOR = Buffer.from('macaroons-key-generator', 'utf8');

/** Machine-readable reasons a serialized macaroon is refused. Never renamed. */
export const macaroonFormatErrorCodes = {
  EMPTY: errorCodes.MACAROON_EMPTY,
  TOO_LARGE: errorCodes.MACAROON_TOO_LARGE,
  UNSUPPORTED_VERSION: errorCodes.MACAROON_UNSUPPORTED_VERSION,
  TRUNCATED: errorCodes.MACAROON_TRUNCATED,
  BAD_VARINT: errorCodes.MACAROON_BAD_VARINT,
  UNKNOWN_FIELD: errorCodes.MACAROON_UNKNOWN_FIELD,
  UNEXPECTED_FIELD: errorCodes.MACAROON_UNEXPECTED_FIELD,
  TOO_MANY_CAVEATS: errorCodes.MACAROON_TOO_MANY_CAVEATS,
  BAD_SIGNATURE_LENGTH: errorCodes.MACAROON_BAD_SIGNATURE_LENGTH,
  BAD_UTF8: errorCodes.MACAROON_BAD_UTF8,
  TRAILING_DATA: errorCodes.MACAROON_TRAILING_DATA,
  BAD_ENCODING: errorCodes.MACAROON_BAD_ENCODING,
} as const;

/** A {@link macaroonFormatErrorCodes} value. */
export type MacaroonFormatErrorCode = (typeof macaroonFormatErrorCodes)[keyof typeof macaroonFormatErrorCodes];

/**
 * A serialized macaroon is malformed, oversized or not V2. Safe to show: it never includes key material.
 * A {@link MalformedInputError} (so an X402RailsError, `status` 400) whose `code` names the reason.
 *
 * @example
 * try { parseMacaroonV2(bytes) } catch (e) { if (e instanceof MacaroonFormatError) console.log(e.code) }
 */
export class MacaroonFormatError extends MalformedInputError {
  override name = 'MacaroonFormatError';
  /** Stable machine-readable reason. */
  declare readonly code: MacaroonFormatErrorCode;

  constructor(code: MacaroonFormatErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options?.cause === undefined ? {} : { cause: options.cause });
  }
}

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const hmac = (key: Uint8Array, data: Uint8Array): Uint8Array => hmacSha256(key, data);
const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

/**
 * Create a macaroon with no caveats.
 *
 * @example
 * const m = createMacaroon({ rootKey: randomBytes(32), identifier: 'token-1', location: 'x402-rails' });
 */
export function createMacaroon(parameters: CreateMacaroonParameters): Macaroon {
  const identifier =
    typeof parameters.identifier === 'string' ? utf8(parameters.identifier) : copy(parameters.identifier);
  const signature = hmac(hmac(KEY_GENERATOR, parameters.rootKey), identifier);
  return parameters.location
    ? { location: parameters.location, identifier, caveats: [], signature }
    : { identifier, caveats: [], signature };
}

/**
 * Return a new macaroon with one more first-party caveat (a string is taken as UTF-8). Caveats only narrow.
 *
 * @example
 * const narrowed = addFirstPartyCaveat(m, 'api_valid_until=1767225600');
 */
export function addFirstPartyCaveat(macaroon: Macaroon, caveat: Uint8Array | string): Macaroon {
  const identifier = typeof caveat === 'string' ? utf8(caveat) : copy(caveat);
  return {
    ...macaroon,
    caveats: [...macaroon.caveats, { identifier }],
    signature: hmac(macaroon.signature, identifier),
  };
}

/** First-party caveat conditions as strings (UTF-8). Third-party caveats are skipped. */
export function firstPartyCaveats(macaroon: Macaroon): string[] {
  return macaroon.caveats
    .filter((c) => c.verificationId === undefined)
    .map((c) => Buffer.from(c.identifier).toString('utf8'));
}

/**
 * Check the signature chain against the root key, in constant time. Checks no caveat condition: that is
 * the caller's job. Macaroons with third-party caveats are refused (discharges are not supported).
 *
 * @example
 * if (!verifyMacaroonSignature(m, rootKey)) throw new Error('forged macaroon');
 */
export function verifyMacaroonSignature(macaroon: Macaroon, rootKey: Uint8Array): boolean {
  if (macaroon.signature.length !== SIGNATURE_LENGTH) return false;
  let signature = hmac(hmac(KEY_GENERATOR, rootKey), macaroon.identifier);
  for (const caveat of macaroon.caveats) {
    if (caveat.verificationId !== undefined) return false;
    signature = hmac(signature, caveat.identifier);
  }
  return constantTimeEqual(signature, macaroon.signature);
}

function uvarint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function field(type: number, data: Uint8Array): Uint8Array[] {
  return [Uint8Array.of(type, ...uvarint(data.length)), data];
}

/**
 * Serialize to the V2 binary format (byte-identical to libmacaroons and `macaroon@3.0.4`).
 *
 * @example
 * const header = Buffer.from(serializeMacaroonV2(m)).toString('base64');
 */
export function serializeMacaroonV2(macaroon: Macaroon): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(VERSION_V2)];
  if (macaroon.location) parts.push(...field(FIELD_LOCATION, utf8(macaroon.location)));
  parts.push(...field(FIELD_IDENTIFIER, macaroon.identifier), Uint8Array.of(FIELD_EOS));
  for (const caveat of macaroon.caveats) {
    if (caveat.location) parts.push(...field(FIELD_LOCATION, utf8(caveat.location)));
    parts.push(...field(FIELD_IDENTIFIER, caveat.identifier));
    if (caveat.verificationId !== undefined) parts.push(...field(FIELD_VID, caveat.verificationId));
    parts.push(Uint8Array.of(FIELD_EOS));
  }
  parts.push(Uint8Array.of(FIELD_EOS), ...field(FIELD_SIGNATURE, macaroon.signature));
  return new Uint8Array(Buffer.concat(parts));
}

/** A bounded cursor over the serialized bytes. */
class Reader {
  private index = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.index;
  }

  peek(): number {
    const byte = this.bytes[this.index];
    if (byte === undefined)
      throw new MacaroonFormatError(macaroonFormatErrorCodes.TRUNCATED, 'The macaroon ends early: a field is missing.');
    return byte;
  }

  byte(): number {
    const byte = this.peek();
    this.index += 1;
    return byte;
  }

  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (value > 0xffffffff) break;
        return value;
      }
    }
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.BAD_VARINT,
      'A field length in the macaroon does not fit in 32 bits.',
    );
  }

  take(length: number): Uint8Array {
    if (length > this.remaining) {
      throw new MacaroonFormatError(
        macaroonFormatErrorCodes.TRUNCATED,
        `The macaroon ends early: a field of ${length} bytes has only ${this.remaining} left.`,
      );
    }
    const out = new Uint8Array(this.bytes.subarray(this.index, this.index + length));
    this.index += length;
    return out;
  }

  /** Read a field's type and, unless EOS, its data. */
  field(): { type: number; data: Uint8Array } {
    const type = this.byte();
    if (type === FIELD_EOS) return { type, data: new Uint8Array(0) };
    if (type !== FIELD_LOCATION && type !== FIELD_IDENTIFIER && type !== FIELD_VID && type !== FIELD_SIGNATURE) {
      throw new MacaroonFormatError(
        macaroonFormatErrorCodes.UNKNOWN_FIELD,
        `The macaroon has an unknown field type ${type}.`,
      );
    }
    return { type, data: this.take(this.uvarint()) };
  }
}

const fieldNames: Record<number, string> = {
  0: 'end',
  1: 'location',
  2: 'identifier',
  4: 'verification id',
  6: 'signature',
};

function expectField(reader: Reader, type: number, where: string): Uint8Array {
  const got = reader.field();
  if (got.type !== type) {
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.UNEXPECTED_FIELD,
      `Expected the ${fieldNames[type]} field ${where} of the macaroon, found ${fieldNames[got.type] ?? got.type}.`,
    );
  }
  return got.data;
}

function readText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new MacaroonFormatError(macaroonFormatErrorCodes.BAD_UTF8, 'A macaroon location is not valid UTF-8.', {
      cause,
    });
  }
}

function optionalLocation(reader: Reader): string | undefined {
  if (reader.peek() !== FIELD_LOCATION) return undefined;
  return readText(expectField(reader, FIELD_LOCATION, 'as location'));
}

/**
 * Parse a V2 binary macaroon, bounded in size and caveat count. Throws {@link MacaroonFormatError} on
 * anything malformed (truncated, unknown or misplaced field, trailing bytes, oversized).
 *
 * @example
 * const m = parseMacaroonV2(Buffer.from(header, 'base64'));
 */
export function parseMacaroonV2(bytes: Uint8Array, options: ParseMacaroonOptions = {}): Macaroon {
  const maxBytes = options.maxBytes ?? MACAROON_MAX_BYTES;
  const maxCaveats = options.maxCaveats ?? MACAROON_MAX_CAVEATS;
  if (bytes.length === 0) throw new MacaroonFormatError(macaroonFormatErrorCodes.EMPTY, 'The macaroon is empty.');
  if (bytes.length > maxBytes) {
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.TOO_LARGE,
      `The macaroon is ${bytes.length} bytes; at most ${maxBytes} are accepted.`,
    );
  }
  const reader = new Reader(bytes);
  const version = reader.byte();
  if (version !== VERSION_V2) {
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.UNSUPPORTED_VERSION,
      `Only V2 binary macaroons are accepted (first byte 0x02), got 0x${version.toString(16).padStart(2, '0')}.`,
    );
  }
  const location = optionalLocation(reader);
  const identifier = expectField(reader, FIELD_IDENTIFIER, 'in the header');
  expectField(reader, FIELD_EOS, 'after the header');
  const caveats: MacaroonCaveat[] = [];
  while (reader.peek() !== FIELD_EOS) {
    if (caveats.length >= maxCaveats) {
      throw new MacaroonFormatError(
        macaroonFormatErrorCodes.TOO_MANY_CAVEATS,
        `The macaroon has more than ${maxCaveats} caveats.`,
      );
    }
    const caveatLocation = optionalLocation(reader);
    const caveatId = expectField(reader, FIELD_IDENTIFIER, 'in a caveat');
    const verificationId = reader.peek() === FIELD_VID ? expectField(reader, FIELD_VID, 'in a caveat') : undefined;
    expectField(reader, FIELD_EOS, 'after a caveat');
    caveats.push({
      identifier: caveatId,
      ...(caveatLocation === undefined ? {} : { location: caveatLocation }),
      ...(verificationId === undefined ? {} : { verificationId }),
    });
  }
  expectField(reader, FIELD_EOS, 'after the caveats');
  const signature = expectField(reader, FIELD_SIGNATURE, 'at the end');
  if (signature.length !== SIGNATURE_LENGTH) {
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.BAD_SIGNATURE_LENGTH,
      `The macaroon signature is ${signature.length} bytes, not ${SIGNATURE_LENGTH}.`,
    );
  }
  if (reader.remaining !== 0) {
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.TRAILING_DATA,
      `The macaroon has ${reader.remaining} unexpected bytes after its signature.`,
    );
  }
  return location === undefined ? { identifier, caveats, signature } : { location, identifier, caveats, signature };
}

/** Standard base64 (with padding) of the V2 binary form, as L402 headers carry it. */
export function macaroonToBase64(macaroon: Macaroon): string {
  return Buffer.from(serializeMacaroonV2(macaroon)).toString('base64');
}

/**
 * Parse base64 (standard or URL-safe, padded or not) of a V2 binary macaroon. Strict about the alphabet.
 *
 * @example
 * const m = macaroonFromBase64('AgELeDQwMi1yYWlscw...');
 */
export function macaroonFromBase64(text: string, options: ParseMacaroonOptions = {}): Macaroon {
  const maxBytes = options.maxBytes ?? MACAROON_MAX_BYTES;
  if (text.length > Math.ceil((maxBytes * 4) / 3) + 4) {
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.TOO_LARGE,
      `The macaroon text is ${text.length} characters; at most ${maxBytes} bytes are accepted.`,
    );
  }
  if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw new MacaroonFormatError(macaroonFormatErrorCodes.BAD_ENCODING, 'The macaroon is not valid base64.');
  }
  return parseMacaroonV2(new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64')), options);
}

/** Lowercase hex of the V2 binary form, as lnd's admin.macaroon files and gRPC metadata carry it. */
export function macaroonToHex(macaroon: Macaroon): string {
  return Buffer.from(serializeMacaroonV2(macaroon)).toString('hex');
}

/** Parse hex of a V2 binary macaroon (as lnd's gRPC metadata carries it). */
export function macaroonFromHex(text: string, options: ParseMacaroonOptions = {}): Macaroon {
  const maxBytes = options.maxBytes ?? MACAROON_MAX_BYTES;
  if (text.length > maxBytes * 2) {
    throw new MacaroonFormatError(
      macaroonFormatErrorCodes.TOO_LARGE,
      `The macaroon text is ${text.length} characters; at most ${maxBytes} bytes are accepted.`,
    );
  }
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new MacaroonFormatError(macaroonFormatErrorCodes.BAD_ENCODING, 'The macaroon is not valid hex.');
  }
  return parseMacaroonV2(new Uint8Array(Buffer.from(text, 'hex')), options);
}
