import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Challenge, Credential, Receipt } from 'mppx';
import {
  MalformedInputError,
  parseAcceptPayment,
  parseMppChallenges,
  parseMppCredential,
  parseMppReceipt,
  rankByAcceptPayment,
  serializeMppChallenge,
  serializeMppCredential,
  serializeMppReceipt,
  type MppChallenge,
} from '../../src/index';

/** Issue 16, step 1: our `Payment` codec against mppx's own Challenge / Credential / Receipt helpers, both ways. */

// Header values are byte strings without CR/LF; mppx escapes everything above Latin-1 as \uXXXX.
const text = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom('"', '\\', ',', '=', ' ', 'é', '—', '€', '😀', 'u', '0'),
      fc.string({ minLength: 1, maxLength: 1 }),
    ),
    maxLength: 40,
  })
  .filter((s) => !/[\r\n\u0000-\u001f\u007f]/.test(s));
// Object keys: never `__proto__` — both mppx and our parser drop such a member (no prototype is ever set from the
// wire), so a value carrying one cannot round-trip by design.
const key = (maxLength: number) => fc.string({ minLength: 1, maxLength }).filter((k) => k !== '__proto__');
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key(8), tie('value'), { maxKeys: 3 }),
  ),
})).value;
const request = fc.dictionary(key(10), json, { maxKeys: 5 });
const iso = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const b64u = fc.uint8Array({ minLength: 1, maxLength: 48 }).map((b) => Buffer.from(b).toString('base64url'));

const challenge: fc.Arbitrary<MppChallenge> = fc.record(
  {
    id: b64u,
    realm: text,
    method: fc.stringMatching(/^[a-z][a-z0-9:_-]{0,12}$/),
    intent: fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/),
    request,
    expires: iso,
    digest: b64u.map((h) => `sha-256=${h}`),
    description: text.filter((s) => s.length > 0),
    opaque: b64u,
  },
  { requiredKeys: ['id', 'realm', 'method', 'intent', 'request'] },
);

/** mppx's Challenge object, comparable with ours (it keeps undefined members off too). */
const plain = (c: object) => JSON.parse(JSON.stringify(c)) as unknown;

describe('MPP codec ↔ mppx', () => {
  it("our WWW-Authenticate challenge reads back identically with mppx Challenge.deserialize, and mppx's with ours", () => {
    fc.assert(
      fc.property(challenge, (c) => {
        const ours = serializeMppChallenge(c);
        expect(plain(Challenge.deserialize(ours))).toEqual(plain(c));
        const theirs = Challenge.serialize(Challenge.from(c));
        expect(theirs).toBe(ours);
        expect(parseMppChallenges(theirs)).toEqual([c]);
      }),
      { numRuns: 300 },
    );
  });

  it('several challenges in one value, among other schemes, read as mppx reads them', () => {
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (cs) => {
        const header = [
          'L402 macaroon="AgEL", invoice="lnbcrt1xyz"',
          ...cs.map(serializeMppChallenge),
          'Bearer realm="x"',
        ].join(', ');
        expect(parseMppChallenges(header)).toEqual(cs);
        expect(plain(Challenge.deserializeList(header))).toEqual(plain(cs));
      }),
      { numRuns: 100 },
    );
  });

  it('credentials round-trip: ours → mppx Credential.deserialize, mppx Credential.serialize → ours', () => {
    const payload = fc.dictionary(key(8), json, { maxKeys: 4 });
    fc.assert(
      fc.property(challenge, payload, fc.option(text, { nil: undefined }), (c, p, source) => {
        const credential = { challenge: c, payload: p, ...(source ? { source } : {}) };
        const ours = serializeMppCredential(credential);
        expect(plain(Credential.deserialize(ours))).toEqual(plain(credential));
        const theirs = Credential.serialize(
          Credential.from({ challenge: Challenge.from(c), payload: p, ...(source ? { source } : {}) }),
        );
        expect(parseMppCredential(theirs)).toEqual(credential);
      }),
      { numRuns: 300 },
    );
  });

  it('receipts round-trip both ways, unknown members kept', () => {
    fc.assert(
      fc.property(
        text.filter((s) => s.length > 0),
        text.filter((s) => s.length > 0),
        iso,
        fc.option(json, { nil: undefined }),
        (method, reference, timestamp, extra) => {
          const receipt = {
            method,
            reference,
            status: 'success' as const,
            timestamp,
            ...(extra === undefined ? {} : { 'x402-rails/receipt': extra }),
          };
          expect(plain(Receipt.deserialize(serializeMppReceipt(receipt)))).toEqual(plain(receipt));
          expect(parseMppReceipt(Receipt.serialize(Receipt.from(receipt)))).toEqual(plain(receipt));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('MPP codec refuses malformed input with a 400, never a crash', () => {
  const refused = (f: () => unknown, reason: string) => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(MalformedInputError);
      expect((error as MalformedInputError).status).toBe(400);
      expect((error as MalformedInputError).details.reason).toBe(reason);
      return;
    }
    throw new Error('not refused');
  };
  const good = serializeMppChallenge({
    id: 'abc',
    realm: 'api.test',
    method: 'evm',
    intent: 'charge',
    request: { amount: '1' },
  });

  it('challenges', () => {
    refused(() => parseMppChallenges('Payment id="a", realm="r", method="evm", intent="charge"'), 'missing_request');
    refused(
      () => parseMppChallenges('Payment id="a", id="b", realm="r", method="evm", intent="charge", request="e30"'),
      'duplicate_param',
    );
    refused(
      () => parseMppChallenges('Payment id="a", realm="r", method="EVM", intent="charge", request="e30"'),
      'bad_challenge',
    );
    refused(
      () => parseMppChallenges('Payment id="a", realm="r", method="evm", intent="charge", request="!!"'),
      'bad_base64url',
    );
    refused(
      () =>
        parseMppChallenges(
          `Payment id="a", realm="r", method="evm", intent="charge", request="${Buffer.from('[1]').toString('base64url')}"`,
        ),
      'not_an_object',
    );
    refused(
      () =>
        parseMppChallenges(
          `Payment id="a", realm="r", method="evm", intent="charge", request="${Buffer.from('{"a":').toString('base64url')}"`,
        ),
      'bad_json',
    );
    refused(() => parseMppChallenges(`${good}, expires="tomorrow"`), 'bad_challenge');
    refused(() => parseMppChallenges('Payment id="a'), 'unterminated_quote');
    refused(() => parseMppChallenges(`Payment request="${'A'.repeat(40_000)}"`), 'too_large');
    refused(
      () =>
        parseMppChallenges(
          `Payment id="a", realm="r", method="evm", intent="charge", request="${Buffer.from('['.repeat(100)).toString('base64url')}"`,
        ),
      'bad_json',
    );
    expect(parseMppChallenges('L402 macaroon="AgEL", invoice="lnbc1"')).toEqual([]);
  });

  it('credentials', () => {
    const wire = (v: unknown) => `Payment ${Buffer.from(JSON.stringify(v)).toString('base64url')}`;
    refused(() => parseMppCredential('Bearer abc'), 'not_payment');
    refused(() => parseMppCredential('Payment %%%'), 'not_payment');
    refused(() => parseMppCredential('Payment abcde'), 'bad_base64url');
    refused(() => parseMppCredential(wire({ payload: {} })), 'bad_credential');
    refused(() => parseMppCredential(wire({ challenge: { id: 'a' }, payload: {} })), 'bad_credential');
    refused(
      () =>
        parseMppCredential(
          wire({ challenge: { id: 'a', realm: 'r', method: 'evm', intent: 'charge', request: 'e30' }, payload: [] }),
        ),
      'bad_credential',
    );
    refused(
      () =>
        parseMppCredential(
          wire({ challenge: { id: '', realm: 'r', method: 'evm', intent: 'charge', request: 'e30' }, payload: {} }),
        ),
      'bad_challenge',
    );
    expect(
      parseMppCredential(
        wire({ challenge: { id: 'a', realm: 'r', method: 'evm', intent: 'charge', request: 'e30' }, payload: {} }),
      ).challenge.request,
    ).toEqual({});
  });

  it('receipts', () => {
    refused(() => parseMppReceipt('???'), 'bad_base64url');
    refused(
      () =>
        parseMppReceipt(
          Buffer.from(JSON.stringify({ method: 'evm', reference: 'x', status: 'failed', timestamp: 't' })).toString(
            'base64url',
          ),
        ),
      'bad_receipt',
    );
  });
});

describe('Accept-Payment', () => {
  it('reads entries and weights as mppx writes them, and ranks offers by them', () => {
    expect(parseAcceptPayment('evm/charge;q=0.5, lightning/*, */*;q=0')).toEqual([
      { method: 'evm', intent: 'charge', q: 0.5 },
      { method: 'lightning', intent: '*', q: 1 },
      { method: '*', intent: '*', q: 0 },
    ]);
    const offers = [
      { method: 'evm', intent: 'charge' },
      { method: 'lightning', intent: 'charge' },
      { method: 'stripe', intent: 'charge' },
    ];
    expect(rankByAcceptPayment(offers, 'evm/charge;q=0.5, lightning/*, */*;q=0')).toEqual([offers[1], offers[0]]);
    expect(rankByAcceptPayment(offers, undefined)).toEqual(offers);
    expect(rankByAcceptPayment(offers, 'garbage!!')).toEqual(offers);
  });
});
