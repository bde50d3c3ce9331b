/**
 * Every header decoder of src/protocol, fed random values and mutations of a valid value: each either returns
 * a value its schema accepts or throws a typed X402RailsError with status 400 — never another error type,
 * never a hang (vitest's timeout), never a partial value.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { X402RailsError } from '../../src/core/errors';
import { readChallenge } from '../../src/client/readChallenge';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from '../../src/protocol/headers';
import { encodeBase64Json } from '../../src/protocol/jsonCodec';
import {
  formatL402Authorization,
  formatL402Challenge,
  parseL402Authorization,
  parseL402Challenges,
} from '../../src/protocol/l402';
import {
  addFirstPartyCaveat,
  createMacaroon,
  macaroonFromBase64,
  macaroonFromHex,
  macaroonToBase64,
  parseMacaroonV2,
  serializeMacaroonV2,
} from '../../src/protocol/macaroon';
import { PaymentPayloadSchema, PaymentRequiredSchema, SettleResponseSchema } from '../../src/protocol/schemas';
import { SettleResponseV1Schema, decodeV1PaymentResponseHeader } from '../../src/protocol/v1';
import { sampleOffer } from '../support/wireSamples';
import { asWireHeader, mutatedBase64Json, mutatedL402Authorization, randomHeader } from './support/mutations';

/** Runs per property; 11 properties below → about 11,000 decoded values. */
const RUNS = 1000;

/** Calls `decode`; a throw must be a typed 400. Returns the value when it decoded. */
function typedOrValue<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (!(error instanceof X402RailsError))
      throw new Error(`expected an X402RailsError, got ${String(error)}`, { cause: error });
    expect(error.status).toBe(400);
    return undefined;
  }
}

const offer = sampleOffer;
const validSignature = encodePaymentSignatureHeader({
  x402Version: 2,
  resource: { url: 'https://api.example/report' },
  accepted: offer,
  payload: {
    signature: `0x${'ab'.repeat(65)}`,
    authorization: {
      from: offer.payTo,
      to: offer.payTo,
      value: '10000',
      validAfter: '0',
      validBefore: '9999999999',
      nonce: `0x${'11'.repeat(32)}`,
    },
  },
});
const validRequired = encodePaymentRequiredHeader({
  x402Version: 2,
  resource: { url: 'https://api.example/report' },
  accepts: [offer, { ...offer, network: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1' }],
});
const validResponse = encodePaymentResponseHeader({
  success: true,
  transaction: `0x${'cd'.repeat(32)}`,
  network: 'eip155:84532',
  payer: offer.payTo,
  amount: '10000',
});
const validV1Response = encodeBase64Json({
  success: true,
  transaction: `0x${'cd'.repeat(32)}`,
  network: 'base-sepolia',
  payer: offer.payTo,
});
const v1Body = {
  x402Version: 1,
  error: 'X-PAYMENT header is required',
  accepts: [
    {
      scheme: 'exact',
      network: 'base-sepolia',
      maxAmountRequired: '10000',
      resource: 'https://api.example/report',
      description: '',
      mimeType: 'application/json',
      payTo: offer.payTo,
      maxTimeoutSeconds: 60,
      asset: offer.asset,
      extra: { name: 'USDC', version: '2' },
    },
  ],
};

const macaroon = [`service=fuzz`, `fuzz_amount_msat=21000`, `expires=9999999999`].reduce(
  addFirstPartyCaveat,
  createMacaroon({ rootKey: randomBytes(32), identifier: randomBytes(66), location: 'x402-rails' }),
);
const macaroonBase64 = macaroonToBase64(macaroon);
const preimage = randomBytes(32).toString('hex');
const invoice = `lnbcrt210n1${'q'.repeat(40)}`;

/** Random values or mutations of `valid`, half and half. */
const around = (valid: string) => fc.oneof(randomHeader, mutatedBase64Json(valid));

describe('fuzz: x402 header decoders return a schema-valid value or throw a typed 400', () => {
  const decoders: Array<[string, string, (header: string) => unknown, (value: unknown) => boolean]> = [
    [
      'PAYMENT-SIGNATURE',
      validSignature,
      decodePaymentSignatureHeader,
      (v) => PaymentPayloadSchema.safeParse(v).success,
    ],
    ['PAYMENT-REQUIRED', validRequired, decodePaymentRequiredHeader, (v) => PaymentRequiredSchema.safeParse(v).success],
    ['PAYMENT-RESPONSE', validResponse, decodePaymentResponseHeader, (v) => SettleResponseSchema.safeParse(v).success],
    [
      'X-PAYMENT-RESPONSE (v1)',
      validV1Response,
      decodeV1PaymentResponseHeader,
      (v) => SettleResponseV1Schema.safeParse(v).success,
    ],
  ];
  it.each(decoders)('%s', (_name, valid, decode, isValid) => {
    fc.assert(
      fc.property(around(valid), (header) => {
        const value = typedOrValue(() => decode(header));
        if (value !== undefined) expect(isValid(value)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('402 challenges as a client reads them: PAYMENT-REQUIRED header or v1 JSON body', async () => {
    const body = fc.oneof(
      mutatedBase64Json(encodeBase64Json(v1Body)).map((header) => Buffer.from(header, 'base64').toString('utf8')),
      fc.string({ unit: 'binary', maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          around(validRequired).map((h) => ({ h })),
          body.map((b) => ({ b })),
        ),
        async (input) => {
          const response =
            'h' in input
              ? new Response(null, { status: 402, headers: { 'PAYMENT-REQUIRED': input.h } })
              : new Response(input.b, { status: 402, headers: { 'Content-Type': 'application/json' } });
          try {
            const read = await readChallenge(response);
            for (const o of read?.offers ?? []) expect(typeof o.amount).toBe('string');
          } catch (error) {
            if (!(error instanceof X402RailsError))
              throw new Error(`expected an X402RailsError, got ${String(error)}`, { cause: error });
            expect(error.status).toBe(400);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: L402 header decoders', () => {
  const validChallenge = formatL402Challenge({ macaroon: macaroonBase64, invoice });

  it('Authorization: random values and mutations of a valid credential', () => {
    fc.assert(
      fc.property(fc.oneof(randomHeader, mutatedL402Authorization(macaroonBase64, preimage)), (header) => {
        const credential = typedOrValue(() => parseL402Authorization(header));
        if (credential) {
          expect(credential.preimage).toMatch(/^[0-9a-f]{64}$/);
          expect(credential.macaroons.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('Authorization: a valid credential reads back exactly', () => {
    expect(parseL402Authorization(formatL402Authorization({ macaroons: [macaroonBase64], preimage }))).toEqual({
      scheme: 'L402',
      macaroons: [macaroonBase64],
      preimage,
    });
  });

  it('WWW-Authenticate: random values, mutations and several challenges', () => {
    const mutatedChallenge = fc
      .tuple(
        fc.nat({ max: validChallenge.length }),
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.nat({ max: validChallenge.length }),
      )
      .map(([at, insert, cut]) => validChallenge.slice(0, at) + insert + validChallenge.slice(Math.max(at, cut)));
    const several = fc
      .array(
        fc.oneof(
          fc.constant(validChallenge),
          fc.constantFrom(
            'Bearer realm="x"',
            'Basic',
            'L402',
            'LSAT macaroon=',
            'L402 invoice="lnbc1"',
            'x="',
            'a=b=c',
          ),
        ),
        { maxLength: 6 },
      )
      .map((parts) => parts.join(', '));
    fc.assert(
      fc.property(fc.oneof(randomHeader, mutatedChallenge.map(asWireHeader), several.map(asWireHeader)), (header) => {
        const challenges = typedOrValue(() => parseL402Challenges(header));
        for (const c of challenges ?? []) {
          expect(c.invoice).toMatch(/^ln[a-z0-9]{8,}$/);
          expect(c.macaroon.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: macaroon decoding', () => {
  const bytes = serializeMacaroonV2(macaroon);
  const mutatedBytes = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc
      .array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 3,
      })
      .map((flips) => {
        const copy = Uint8Array.from(bytes);
        for (const [at, mask] of flips) copy[at] = (copy[at] ?? 0) ^ mask;
        return copy;
      }),
    fc.nat({ max: bytes.length }).map((n) => bytes.subarray(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((tail) => Uint8Array.from([...bytes, ...tail])),
    // a varint length that claims more bytes than there are
    fc.integer({ min: 0, max: 2 ** 31 }).map((n) => Uint8Array.from([2, 2, ...varint(n), 1, 2, 3])),
  );

  it('parseMacaroonV2 / macaroonFromBase64 / macaroonFromHex throw only typed 400s', () => {
    fc.assert(
      fc.property(mutatedBytes, fc.constantFrom('binary', 'base64', 'base64url', 'hex'), (input, form) => {
        const decode = () =>
          form === 'binary'
            ? parseMacaroonV2(input)
            : form === 'hex'
              ? macaroonFromHex(Buffer.from(input).toString('hex'))
              : macaroonFromBase64(Buffer.from(input).toString(form));
        const parsed = typedOrValue(decode);
        if (parsed) expect(parsed.signature).toHaveLength(32);
      }),
      { numRuns: RUNS },
    );
  });

  it('macaroonFromBase64 on random text throws only typed 400s', () => {
    fc.assert(
      fc.property(randomHeader, (text) => void typedOrValue(() => macaroonFromBase64(text))),
      { numRuns: RUNS },
    );
  });
});

/** LEB128 varint, as the V2 macaroon format spells lengths. */
function varint(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return out;
}
