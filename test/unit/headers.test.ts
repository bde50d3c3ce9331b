import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedInputError, errorCodes } from '../../src/core/errors';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  exposedHeaders,
  headerNames,
} from '../../src/protocol/headers';
import {
  PaymentPayloadSchema,
  type PaymentPayload,
  type PaymentRequired,
  type PaymentRequirements,
  type SettleResponse,
} from '../../src/protocol/schemas';
import { sampleOffer } from '../support/wireSamples';

const offer: PaymentRequirements = sampleOffer;

const paymentRequired: PaymentRequired = {
  x402Version: 2,
  error: 'payment required',
  resource: { url: 'https://api.example.com/report', description: 'a report', mimeType: 'application/json' },
  accepts: [
    offer,
    {
      ...offer,
      network: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
      asset: 'So11111111111111111111111111111111111111112',
      extra: {},
    },
  ],
  extensions: { bazaar: { discoverable: true } },
};

const paymentPayload: PaymentPayload = {
  x402Version: 2,
  resource: { url: 'https://api.example.com/report' },
  accepted: offer,
  payload: {
    signature: '0xabc',
    authorization: { from: '0x1', to: '0x2', value: '10000', validAfter: '0', validBefore: '99', nonce: '0x00' },
  },
};

const settleResponse: SettleResponse = {
  success: true,
  transaction: '0xdeadbeef',
  network: 'eip155:84532',
  payer: '0x1',
  amount: '10000',
  extensions: { 'x402-rails/receipt': { id: 'r1' } },
};

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

function malformed(fn: () => unknown): MalformedInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MalformedInputError) return error;
    throw error;
  }
  throw new Error('expected a MalformedInputError, nothing was thrown');
}

describe('x402 v2 header codecs', () => {
  it('round-trips PAYMENT-REQUIRED, PAYMENT-SIGNATURE and PAYMENT-RESPONSE', () => {
    const pr = encodePaymentRequiredHeader(paymentRequired);
    const ps = encodePaymentSignatureHeader(paymentPayload);
    const resp = encodePaymentResponseHeader(settleResponse);
    for (const h of [pr, ps, resp]) expect(h).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(decodePaymentRequiredHeader(pr)).toEqual(paymentRequired);
    expect(decodePaymentSignatureHeader(ps)).toEqual(paymentPayload);
    expect(decodePaymentResponseHeader(resp)).toEqual(settleResponse);
    // it is plain base64 of the JSON, as official x402 peers read it
    expect(JSON.parse(Buffer.from(ps, 'base64').toString('utf8'))).toEqual(paymentPayload);
  });

  it('names the headers as x402 v2 does and exposes the response headers for CORS', () => {
    expect(headerNames).toMatchObject({
      paymentRequired: 'PAYMENT-REQUIRED',
      paymentSignature: 'PAYMENT-SIGNATURE',
      paymentResponse: 'PAYMENT-RESPONSE',
    });
    expect(exposedHeaders).toEqual(expect.arrayContaining(['PAYMENT-REQUIRED', 'PAYMENT-RESPONSE']));
    expect(exposedHeaders).not.toContain('PAYMENT-SIGNATURE');
  });

  it('defaults a missing `extra` to {} on requirements', () => {
    const { extra: _extra, ...noExtra } = offer;
    const decoded = decodePaymentSignatureHeader(b64({ ...paymentPayload, accepted: noExtra }));
    expect(decoded.accepted.extra).toEqual({});
  });

  it('preserves unknown extension fields at every level', () => {
    const withUnknown = {
      ...paymentPayload,
      futureTopLevel: { nested: [1, 2] },
      resource: { url: 'https://x.test/', futureResourceField: 'r' },
      accepted: { ...offer, futureOfferField: 42, extra: { ...offer.extra, vendor: { k: 'v' } } },
      extensions: { 'vendor/thing': { a: 1 } },
    };
    const decoded = decodePaymentSignatureHeader(b64(withUnknown));
    expect(decoded).toEqual(withUnknown);
    const pr = decodePaymentRequiredHeader(
      b64({ ...paymentRequired, futureField: true, accepts: [{ ...offer, futureOfferField: 'x' }] }),
    );
    expect(pr).toMatchObject({ futureField: true, accepts: [{ futureOfferField: 'x' }] });
    const sr = decodePaymentResponseHeader(b64({ ...settleResponse, futureField: 'y' }));
    expect(sr).toMatchObject({ futureField: 'y' });
  });

  it.each<[string, unknown, string]>([
    ['x402Version 1', { ...paymentPayload, x402Version: 1 }, 'x402Version'],
    ['x402Version as string', { ...paymentPayload, x402Version: '2' }, 'x402Version'],
    ['amount as a number', { ...paymentPayload, accepted: { ...offer, amount: 10000 } }, 'accepted.amount'],
    ['a float amount', { ...paymentPayload, accepted: { ...offer, amount: '1.5' } }, 'accepted.amount'],
    ['a float amount as number', { ...paymentPayload, accepted: { ...offer, amount: 1.5 } }, 'accepted.amount'],
    ['a negative amount', { ...paymentPayload, accepted: { ...offer, amount: '-1' } }, 'accepted.amount'],
    ['a leading-zero amount', { ...paymentPayload, accepted: { ...offer, amount: '0100' } }, 'accepted.amount'],
    ['an exponent amount', { ...paymentPayload, accepted: { ...offer, amount: '1e6' } }, 'accepted.amount'],
    ['an empty amount', { ...paymentPayload, accepted: { ...offer, amount: '' } }, 'accepted.amount'],
    [
      'a v1 short network name',
      { ...paymentPayload, accepted: { ...offer, network: 'base-sepolia' } },
      'accepted.network',
    ],
    [
      'an upper-case CAIP namespace',
      { ...paymentPayload, accepted: { ...offer, network: 'EIP155:1' } },
      'accepted.network',
    ],
    [
      'a negative timeout',
      { ...paymentPayload, accepted: { ...offer, maxTimeoutSeconds: -5 } },
      'accepted.maxTimeoutSeconds',
    ],
    [
      'a fractional timeout',
      { ...paymentPayload, accepted: { ...offer, maxTimeoutSeconds: 1.5 } },
      'accepted.maxTimeoutSeconds',
    ],
    ['an empty payTo', { ...paymentPayload, accepted: { ...offer, payTo: '' } }, 'accepted.payTo'],
    ['payload as an array', { ...paymentPayload, payload: [1, 2] }, 'payload'],
    ['payload missing', { x402Version: 2, accepted: offer }, 'payload'],
    ['extra as a string', { ...paymentPayload, accepted: { ...offer, extra: 'x' } }, 'accepted.extra'],
    ['resource url as a number', { ...paymentPayload, resource: { url: 5 } }, 'resource.url'],
  ])('PAYMENT-SIGNATURE with %s → SCHEMA_MISMATCH naming %s', (_label, value, path) => {
    const error = malformed(() => decodePaymentSignatureHeader(b64(value)));
    expect(error.code).toBe(errorCodes.HEADER_SCHEMA);
    expect(error.code).toBe('PROTOCOL__HEADER__SCHEMA_MISMATCH');
    expect(error.status).toBe(400);
    expect(error.message).toContain(`${path}:`);
    expect(error.message).toContain('PAYMENT-SIGNATURE');
  });

  it('names the index of a bad offer inside PAYMENT-REQUIRED accepts', () => {
    const bad = { ...paymentRequired, accepts: [offer, { ...offer, amount: '01' }] };
    const error = malformed(() => decodePaymentRequiredHeader(b64(bad)));
    expect(error.code).toBe(errorCodes.HEADER_SCHEMA);
    expect(error.message).toContain('accepts.1.amount');
    expect(error.details.issues).toEqual(expect.arrayContaining([expect.stringContaining('accepts.1.amount')]));
  });

  it('refuses a non-object JSON root with SCHEMA_MISMATCH at (root)', () => {
    for (const root of [null, 42, 'str', [paymentPayload]]) {
      const error = malformed(() => decodePaymentSignatureHeader(b64(root)));
      expect(error.code).toBe(errorCodes.HEADER_SCHEMA);
      expect(error.message).toContain('(root)');
    }
  });

  it('PAYMENT-RESPONSE: refuses a non-CAIP network and a non-boolean success', () => {
    expect(malformed(() => decodePaymentResponseHeader(b64({ ...settleResponse, network: 'base' }))).message).toContain(
      'network:',
    );
    expect(malformed(() => decodePaymentResponseHeader(b64({ ...settleResponse, success: 'true' }))).message).toContain(
      'success:',
    );
  });

  it('each decoder maps transport faults to the protocol codes', () => {
    for (const decode of [decodePaymentRequiredHeader, decodePaymentSignatureHeader, decodePaymentResponseHeader]) {
      expect(malformed(() => decode('%%%')).code).toBe(errorCodes.HEADER_BAD_BASE64);
      expect(malformed(() => decode(Buffer.from('{nope').toString('base64'))).code).toBe(errorCodes.HEADER_BAD_JSON);
      expect(malformed(() => decode(Buffer.from('['.repeat(40)).toString('base64'))).code).toBe(
        errorCodes.HEADER_TOO_DEEP,
      );
      expect(malformed(() => decode('A'.repeat(200_000))).code).toBe(errorCodes.HEADER_TOO_LARGE);
    }
  });

  it('accepts a base64url, unpadded PAYMENT-SIGNATURE', () => {
    const url = Buffer.from(JSON.stringify(paymentPayload), 'utf8').toString('base64url');
    expect(decodePaymentSignatureHeader(url)).toEqual(paymentPayload);
  });
});

describe('property: decodePaymentSignatureHeader never fails with anything but MalformedInputError', () => {
  const check = (input: string) => {
    try {
      const decoded = decodePaymentSignatureHeader(input);
      // whatever it returns is a valid payload
      expect(PaymentPayloadSchema.safeParse(decoded).success).toBe(true);
      expect(decoded.x402Version).toBe(2);
    } catch (error) {
      if (!(error instanceof MalformedInputError) || error.status !== 400) throw error;
    }
  };

  it('for arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), check), { numRuns: 2000 });
  });

  it('for base64 (standard and url) of arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, url) =>
        check(Buffer.from(bytes).toString(url ? 'base64url' : 'base64')),
      ),
      { numRuns: 1000 },
    );
  });

  it('for base64 of arbitrary JSON values, including near-miss payloads', () => {
    const nearMiss = fc.record(
      {
        x402Version: fc.constantFrom(1, 2, '2', null),
        accepted: fc.record(
          {
            scheme: fc.oneof(fc.string(), fc.integer()),
            network: fc.oneof(fc.constantFrom('eip155:1', 'base', 'solana:abc', ''), fc.string()),
            amount: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 80n }).map(String), fc.string(), fc.double()),
            asset: fc.string(),
            payTo: fc.string(),
            maxTimeoutSeconds: fc.oneof(fc.integer(), fc.double()),
            extra: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
          },
          { requiredKeys: [] },
        ),
        payload: fc.jsonValue(),
        extensions: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearMiss), (value) => check(b64(value))),
      { numRuns: 2000 },
    );
  });

  it('accepts every payload it itself encodes', () => {
    // zod drops a top-level "__proto__" key of a record (no prototype pollution), so it cannot round-trip.
    const key = fc.string({ maxLength: 20 }).filter((k) => k !== '__proto__');
    const validOffer = fc.record({
      scheme: fc.string({ minLength: 1, maxLength: 64 }),
      network: fc.constantFrom(
        'eip155:1',
        'eip155:84532',
        'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
        'bip122:0f9188f13cb7b2c71f2a335e3a4fc328',
      ),
      amount: fc.bigInt({ min: 0n, max: 10n ** 77n }).map(String),
      asset: fc.string({ minLength: 1, maxLength: 256 }),
      payTo: fc.string({ minLength: 1, maxLength: 256 }),
      maxTimeoutSeconds: fc.integer({ min: 1, max: 86_400 }),
      extra: fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    });
    fc.assert(
      fc.property(
        validOffer,
        fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        (accepted, payload) => {
          const value: PaymentPayload = { x402Version: 2, accepted, payload };
          const decoded = decodePaymentSignatureHeader(encodePaymentSignatureHeader(value));
          expect(decoded).toEqual(JSON.parse(JSON.stringify(value)));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('prototype keys', () => {
  it('drops a "__proto__" key of extra instead of polluting the prototype', () => {
    const json =
      '{"x402Version":2,"accepted":{"scheme":"exact","network":"eip155:1","amount":"1","asset":"a","payTo":"b","maxTimeoutSeconds":1,"extra":{"__proto__":{"polluted":true}}},"payload":{}}';
    const decoded = decodePaymentSignatureHeader(Buffer.from(json).toString('base64'));
    expect(Object.keys(decoded.accepted.extra)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
