import { createRequire } from 'node:module';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MacaroonFormatError,
  addFirstPartyCaveat,
  createMacaroon,
  firstPartyCaveats,
  macaroonFormatErrorCodes,
  macaroonFromBase64,
  macaroonFromHex,
  macaroonToBase64,
  macaroonToHex,
  parseMacaroonV2,
  serializeMacaroonV2,
  verifyMacaroonSignature,
  type Macaroon,
} from '../../src/protocol/macaroon';

/** The slice of npm `macaroon@3.0.4` (ships no types) these tests use. */
type MacaroonJs = {
  newMacaroon(args: {
    identifier: Uint8Array | string;
    rootKey: Uint8Array | string;
    location?: string;
    version?: number;
  }): MacaroonJsInstance;
  importMacaroon(input: Uint8Array | string): MacaroonJsInstance;
};
type MacaroonJsInstance = {
  addFirstPartyCaveat(caveat: Uint8Array | string): void;
  addThirdPartyCaveat(rootKey: Uint8Array, caveatId: Uint8Array | string, location: string): void;
  verify(rootKey: Uint8Array, check: (condition: string) => string | null, discharges?: MacaroonJsInstance[]): void;
  exportBinary(): Uint8Array;
  exportJSON(): unknown;
  readonly caveats: { identifier: Uint8Array; location?: string; vid?: Uint8Array }[];
  readonly signature: Uint8Array;
};
const macaroonJs = createRequire(import.meta.url)('macaroon') as MacaroonJs;

const rootKey = new Uint8Array(randomBytes(32));
const caveats = [
  'services=api:0',
  'api_capabilities=read,write',
  'api_valid_until=1767225600',
  'ip=127.0.0.1',
  'tier=gold',
  'api_capabilities=read',
];

function sixCaveats(): Macaroon {
  return caveats.reduce(
    addFirstPartyCaveat,
    createMacaroon({ rootKey, identifier: randomBytes(66), location: 'x402-rails' }),
  );
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof MacaroonFormatError) return error.code;
    throw error;
  }
  throw new Error('expected a MacaroonFormatError');
}

describe('V2 macaroons', () => {
  it('follows the libmacaroons signature chain', () => {
    const identifier = Buffer.from('id-1');
    const m = addFirstPartyCaveat(createMacaroon({ rootKey, identifier }), 'a=b');
    const key = createHmac('sha256', 'macaroons-key-generator').update(rootKey).digest();
    const sig0 = createHmac('sha256', key).update(identifier).digest();
    const sig1 = createHmac('sha256', sig0).update('a=b').digest();
    expect(Buffer.from(m.signature).equals(sig1)).toBe(true);
  });

  it('round-trips through bytes, base64 and hex with six caveats', () => {
    const m = sixCaveats();
    const bytes = serializeMacaroonV2(m);
    const parsed = parseMacaroonV2(bytes);
    expect(parsed).toEqual(m);
    expect(firstPartyCaveats(parsed)).toEqual(caveats);
    expect(Buffer.from(serializeMacaroonV2(parsed)).equals(Buffer.from(bytes))).toBe(true);
    expect(verifyMacaroonSignature(parsed, rootKey)).toBe(true);
    expect(macaroonFromBase64(macaroonToBase64(m))).toEqual(m);
    expect(macaroonFromBase64(Buffer.from(bytes).toString('base64url'))).toEqual(m);
    expect(macaroonFromHex(macaroonToHex(m))).toEqual(m);
  });

  it('fails verification when any caveat, the identifier, the signature or the key is changed', () => {
    const m = sixCaveats();
    for (let i = 0; i < m.caveats.length; i += 1) {
      const tampered: Macaroon = {
        ...m,
        caveats: m.caveats.map((c, j) =>
          j === i ? { identifier: Buffer.from(`${Buffer.from(c.identifier).toString()}x`) } : c,
        ),
      };
      expect(verifyMacaroonSignature(tampered, rootKey)).toBe(false);
    }
    expect(verifyMacaroonSignature({ ...m, caveats: m.caveats.slice(0, 5) }, rootKey)).toBe(false);
    const identifier = new Uint8Array(m.identifier);
    identifier[0] = (identifier[0] ?? 0) ^ 1;
    expect(verifyMacaroonSignature({ ...m, identifier }, rootKey)).toBe(false);
    const signature = new Uint8Array(m.signature);
    signature[31] = (signature[31] ?? 0) ^ 0x80;
    expect(verifyMacaroonSignature({ ...m, signature }, rootKey)).toBe(false);
    expect(verifyMacaroonSignature({ ...m, signature: signature.subarray(0, 31) }, rootKey)).toBe(false);
    expect(verifyMacaroonSignature(m, new Uint8Array(randomBytes(32)))).toBe(false);
    // Flipping any byte of the serialized form either breaks parsing or breaks verification.
    const bytes = serializeMacaroonV2(m);
    for (let i = 0; i < bytes.length; i += 1) {
      const flipped = new Uint8Array(bytes);
      flipped[i] = (flipped[i] ?? 0) ^ 0x01;
      let accepted = false;
      try {
        const parsed = parseMacaroonV2(flipped);
        accepted = verifyMacaroonSignature(parsed, rootKey) && parsed.location === m.location;
      } catch (error) {
        expect(error).toBeInstanceOf(MacaroonFormatError);
      }
      expect(accepted).toBe(false);
    }
  });

  it('refuses truncated, garbage, oversized and over-caveated input with MacaroonFormatError', () => {
    const bytes = serializeMacaroonV2(sixCaveats());
    for (let length = 0; length < bytes.length; length += 1) {
      expect(() => parseMacaroonV2(bytes.subarray(0, length))).toThrow(MacaroonFormatError);
    }
    expect(codeOf(() => parseMacaroonV2(new Uint8Array(0)))).toBe(macaroonFormatErrorCodes.EMPTY);
    expect(codeOf(() => parseMacaroonV2(bytes.subarray(0, bytes.length - 1)))).toBe(macaroonFormatErrorCodes.TRUNCATED);
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(...bytes, 0)))).toBe(macaroonFormatErrorCodes.TRAILING_DATA);
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(1, 2, 3)))).toBe(macaroonFormatErrorCodes.UNSUPPORTED_VERSION);
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(2, 3, 1, 0)))).toBe(macaroonFormatErrorCodes.UNKNOWN_FIELD);
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(2, 6, 1, 0)))).toBe(macaroonFormatErrorCodes.UNEXPECTED_FIELD);
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(2, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)))).toBe(
      macaroonFormatErrorCodes.BAD_VARINT,
    );
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(2, 2, 0xff, 0xff, 0xff, 0xff, 0x0f)))).toBe(
      macaroonFormatErrorCodes.TRUNCATED,
    );
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(2, 1, 1, 0xff, 2, 0, 0, 0, 6, 0)))).toBe(
      macaroonFormatErrorCodes.BAD_UTF8,
    );
    expect(codeOf(() => parseMacaroonV2(Uint8Array.of(2, 2, 0, 0, 0, 6, 1, 9)))).toBe(
      macaroonFormatErrorCodes.BAD_SIGNATURE_LENGTH,
    );
    expect(codeOf(() => parseMacaroonV2(bytes, { maxBytes: bytes.length - 1 }))).toBe(
      macaroonFormatErrorCodes.TOO_LARGE,
    );
    expect(codeOf(() => parseMacaroonV2(bytes, { maxCaveats: 5 }))).toBe(macaroonFormatErrorCodes.TOO_MANY_CAVEATS);
    expect(codeOf(() => parseMacaroonV2(new Uint8Array(20_000)))).toBe(macaroonFormatErrorCodes.TOO_LARGE);
    expect(codeOf(() => macaroonFromBase64('not base64!'))).toBe(macaroonFormatErrorCodes.BAD_ENCODING);
    expect(codeOf(() => macaroonFromHex('abc'))).toBe(macaroonFormatErrorCodes.BAD_ENCODING);
    expect(codeOf(() => macaroonFromBase64('A'.repeat(100_000)))).toBe(macaroonFormatErrorCodes.TOO_LARGE);
    const many = Array.from({ length: 65 }, (_, i) => `c${i}=1`).reduce(
      addFirstPartyCaveat,
      createMacaroon({ rootKey, identifier: 'x' }),
    );
    expect(codeOf(() => parseMacaroonV2(serializeMacaroonV2(many)))).toBe(macaroonFormatErrorCodes.TOO_MANY_CAVEATS);
    for (let seed = 0; seed < 200; seed += 1) {
      const garbage = new Uint8Array(randomBytes(1 + (seed % 90)));
      garbage[0] = 2;
      try {
        parseMacaroonV2(garbage);
      } catch (error) {
        expect(error).toBeInstanceOf(MacaroonFormatError);
      }
    }
  });

  describe('interop with npm macaroon@3.0.4', () => {
    it('it imports and verifies ours, with six caveats', () => {
      const m = sixCaveats();
      const theirs = macaroonJs.importMacaroon(serializeMacaroonV2(m));
      const seen: string[] = [];
      theirs.verify(rootKey, (condition) => {
        seen.push(condition);
        return null;
      });
      expect(seen).toEqual(caveats);
      expect(Buffer.from(theirs.signature).equals(Buffer.from(m.signature))).toBe(true);
      expect(() => theirs.verify(new Uint8Array(randomBytes(32)), () => null)).toThrow(/signature mismatch/);
      // and through base64, as an L402 header carries it
      expect(() => macaroonJs.importMacaroon(macaroonToBase64(m)).verify(rootKey, () => null)).not.toThrow();
    });

    it('we parse its macaroons byte for byte and verify them (up to three caveats, where its export works)', () => {
      for (let count = 0; count <= 3; count += 1) {
        const theirs = macaroonJs.newMacaroon({ identifier: randomBytes(66), rootKey, location: 'lnd' });
        for (const caveat of caveats.slice(0, count)) theirs.addFirstPartyCaveat(caveat);
        const exported = new Uint8Array(theirs.exportBinary());
        const ours = parseMacaroonV2(exported);
        expect(Buffer.from(serializeMacaroonV2(ours)).equals(Buffer.from(exported))).toBe(true);
        expect(verifyMacaroonSignature(ours, rootKey)).toBe(true);
        expect(firstPartyCaveats(ours)).toEqual(caveats.slice(0, count));
        expect(verifyMacaroonSignature(ours, new Uint8Array(randomBytes(32)))).toBe(false);
      }
    });

    it('carries third-party caveats compatibly but refuses to verify them', () => {
      // Its binary export overflows with a third-party caveat, so compare through its JSON export.
      const theirs = macaroonJs.newMacaroon({ identifier: 'root-id', rootKey, location: 'here' });
      theirs.addFirstPartyCaveat('a=1');
      theirs.addThirdPartyCaveat(new Uint8Array(randomBytes(32)), 'third-party-id', 'https://auth.example');
      const json = theirs.exportJSON();
      const ours: Macaroon = {
        location: 'here',
        identifier: new Uint8Array(Buffer.from('root-id')),
        caveats: theirs.caveats.map((c) => ({
          identifier: new Uint8Array(c.identifier),
          ...(c.location ? { location: c.location } : {}),
          ...(c.vid ? { verificationId: new Uint8Array(c.vid) } : {}),
        })),
        signature: new Uint8Array(theirs.signature),
      };
      const bytes = serializeMacaroonV2(ours);
      expect(parseMacaroonV2(bytes)).toEqual(ours);
      expect(macaroonJs.importMacaroon(bytes).exportJSON()).toEqual(json);
      expect(ours.caveats[1]?.verificationId?.length).toBeGreaterThan(0);
      expect(verifyMacaroonSignature(ours, rootKey)).toBe(false);
    });

    it('adding a caveat with either library yields the same signature', () => {
      const identifier = randomBytes(16);
      const theirs = macaroonJs.newMacaroon({ identifier, rootKey });
      let ours = createMacaroon({ rootKey, identifier });
      for (const caveat of caveats.slice(0, 3)) {
        theirs.addFirstPartyCaveat(caveat);
        ours = addFirstPartyCaveat(ours, caveat);
        expect(Buffer.from(theirs.signature).equals(Buffer.from(ours.signature))).toBe(true);
      }
    });
  });
});
