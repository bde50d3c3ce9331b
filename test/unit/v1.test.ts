import { describe, expect, it } from 'vitest';
import { MalformedInputError, errorCodes } from '../../src/core/errors';
import { decodeBase64Json, encodeBase64Json } from '../../src/protocol/jsonCodec';
import { PaymentRequirementsSchema } from '../../src/protocol/schemas';
import {
  decodeV1PaymentResponseHeader,
  encodeV1PaymentHeader,
  parsePaymentRequiredV1,
  v1ToV2Requirements,
  type PaymentRequirementsV1,
} from '../../src/protocol/v1';
import { readChallenge } from '../../src/client/readChallenge';
import { payingFetch } from '../../src/client/payingFetch';
import { receiptOf } from '../../src/client/paymentOutcome';
import { createFakeLedger, fakeRail } from './support/fakeRail';

const usdcBaseSepolia = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const payTo = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';

/** A 402 body as an x402 v1 server (e.g. x402-express@0.x) sends it. */
const v1Body = {
  x402Version: 1,
  error: 'X-PAYMENT header is required',
  accepts: [
    {
      scheme: 'exact',
      network: 'base-sepolia',
      maxAmountRequired: '10000',
      resource: 'https://api.example.com/weather',
      description: 'Weather report',
      mimeType: 'application/json',
      payTo,
      maxTimeoutSeconds: 60,
      asset: usdcBaseSepolia,
      outputSchema: { input: { type: 'http', method: 'GET' } },
      extra: { name: 'USDC', version: '2' },
    },
    {
      scheme: 'exact',
      network: 'iotex-testnet-unknown',
      maxAmountRequired: '5',
      resource: 'https://api.example.com/weather',
      description: '',
      mimeType: '',
      payTo,
      maxTimeoutSeconds: 60,
      asset: '0xabc',
    },
    {
      scheme: 'exact',
      network: 'solana-devnet',
      maxAmountRequired: '1000',
      resource: 'https://api.example.com/weather',
      payTo: 'FeePayer1111111111111111111111111111111111',
      maxTimeoutSeconds: 30,
      asset: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU',
      extra: null,
    },
  ],
};

function firstOffer(): PaymentRequirementsV1 {
  const offer = parsePaymentRequiredV1(v1Body).accepts[0];
  if (!offer) throw new Error('no offer');
  return offer;
}

describe('x402 v1 read side', () => {
  it('parses a v1 402 body and maps offers onto v2 requirements', () => {
    const parsed = parsePaymentRequiredV1(v1Body);
    expect(parsed.accepts).toHaveLength(3);
    const v2 = parsed.accepts.map(v1ToV2Requirements);
    expect(v2[0]).toEqual({
      scheme: 'exact',
      network: 'eip155:84532',
      amount: '10000',
      asset: usdcBaseSepolia,
      payTo,
      maxTimeoutSeconds: 60,
      extra: { name: 'USDC', version: '2' },
    });
    expect(v2[1]).toBeUndefined(); // unknown network
    expect(v2[2]).toMatchObject({ network: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1', amount: '1000', extra: {} });
    // the v2 shape is valid v2 wire data, and carries no v1-only field
    for (const req of [v2[0], v2[2]]) {
      expect(PaymentRequirementsSchema.safeParse(req).success).toBe(true);
      expect(req).not.toHaveProperty('maxAmountRequired');
      expect(req).not.toHaveProperty('resource');
    }
  });

  it('fills v1 defaults for description and mimeType', () => {
    const parsed = parsePaymentRequiredV1(v1Body);
    expect(parsed.accepts[2]).toMatchObject({ description: '', mimeType: '' });
  });

  it.each<[string, unknown, string]>([
    [
      'a float maxAmountRequired',
      { ...v1Body, accepts: [{ ...v1Body.accepts[0], maxAmountRequired: '0.01' }] },
      'accepts.0.maxAmountRequired',
    ],
    [
      'a numeric maxAmountRequired',
      { ...v1Body, accepts: [{ ...v1Body.accepts[0], maxAmountRequired: 10000 }] },
      'accepts.0.maxAmountRequired',
    ],
    ['a missing payTo', { ...v1Body, accepts: [{ ...v1Body.accepts[0], payTo: undefined }] }, 'accepts.0.payTo'],
    ['version 2', { ...v1Body, x402Version: 2 }, 'x402Version'],
  ])('refuses a v1 body with %s, naming %s', (_label, body, path) => {
    let error: unknown;
    try {
      parsePaymentRequiredV1(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MalformedInputError);
    if (error instanceof MalformedInputError) {
      expect(error.code).toBe(errorCodes.HEADER_SCHEMA);
      expect(error.message).toContain(path);
    }
  });

  it('encodes X-PAYMENT as {x402Version:1, scheme, network (v1 name), payload}', () => {
    const payload = {
      signature: '0xsig',
      authorization: { from: '0x1', to: payTo, value: '10000', validAfter: '0', validBefore: '9', nonce: '0x01' },
    };
    const header = encodeV1PaymentHeader(firstOffer(), payload);
    expect(header).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const decoded = decodeBase64Json(header);
    expect(decoded).toEqual({ x402Version: 1, scheme: 'exact', network: 'base-sepolia', payload });
    expect(Object.keys(decoded as object).sort()).toEqual(['network', 'payload', 'scheme', 'x402Version']);
  });

  it('decodes X-PAYMENT-RESPONSE and refuses a malformed one', () => {
    const header = encodeBase64Json({ success: true, transaction: '0xabc', network: 'base-sepolia', payer: '0x1' });
    expect(decodeV1PaymentResponseHeader(header)).toEqual({
      success: true,
      transaction: '0xabc',
      network: 'base-sepolia',
      payer: '0x1',
    });
    expect(() => decodeV1PaymentResponseHeader(encodeBase64Json({ success: 'yes' }))).toThrow(MalformedInputError);
  });

  it('readChallenge turns a v1 402 body into v2 offers, dropping unknown networks and keeping the v1 originals aligned', async () => {
    const response = new Response(JSON.stringify(v1Body), {
      status: 402,
      headers: { 'content-type': 'application/json' },
    });
    const challenge = await readChallenge(response);
    expect(challenge?.version).toBe(1);
    if (challenge?.version !== 1) return;
    expect(challenge.offers.map((o) => o.network)).toEqual(['eip155:84532', 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1']);
    expect(challenge.v1Offers.map((o) => o.network)).toEqual(['base-sepolia', 'solana-devnet']);
    expect(challenge.offers.map((o) => o.amount)).toEqual(challenge.v1Offers.map((o) => o.maxAmountRequired));
    expect(challenge.resourceUrl).toBe('https://api.example.com/weather');
    // the body was read from a clone: the caller can still read it
    expect(await response.json()).toEqual(v1Body);
  });

  it('readChallenge drops offers whose network names an inherited object key (hostile body)', async () => {
    const hostile = {
      x402Version: 1,
      accepts: ['constructor', '__proto__', 'toString', 'base'].map((network) => ({ ...v1Body.accepts[0], network })),
    };
    const challenge = await readChallenge(
      new Response(JSON.stringify(hostile), { status: 402, headers: { 'content-type': 'application/json' } }),
    );
    expect(challenge?.offers.map((o) => o.network)).toEqual(['eip155:8453']);
    for (const offer of challenge?.offers ?? []) expect(typeof offer.network).toBe('string');
  });

  it('readChallenge ignores 402s that are not x402', async () => {
    expect(
      await readChallenge(new Response('pay me', { status: 402, headers: { 'content-type': 'text/plain' } })),
    ).toBeUndefined();
    expect(
      await readChallenge(
        new Response('{"x402Version":3}', { status: 402, headers: { 'content-type': 'application/json' } }),
      ),
    ).toBeUndefined();
    expect(
      await readChallenge(new Response('{not json', { status: 402, headers: { 'content-type': 'application/json' } })),
    ).toBeUndefined();
  });
});

describe('payingFetch against a v1 server', () => {
  it('pays a v1 402 with X-PAYMENT built from the v1 offer and reads X-PAYMENT-RESPONSE', async () => {
    const ledger = createFakeLedger();
    const alice = ledger.open('alice', 100n);
    const rail = fakeRail({ ledger, network: 'eip155:84532' });
    const seen: unknown[] = [];
    const offer = { ...v1Body.accepts[0], maxAmountRequired: '7', payTo: 'merchant', asset: 'FAKE' };
    const body = { x402Version: 1, error: 'X-PAYMENT header is required', accepts: [v1Body.accepts[1], offer] };
    const server = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      const header = request.headers.get('X-PAYMENT');
      if (header === null) return Response.json(body, { status: 402 });
      const decoded = decodeBase64Json(header);
      seen.push(decoded);
      const response = encodeBase64Json({
        success: true,
        transaction: '0xfeed',
        network: 'base-sepolia',
        payer: 'alice',
      });
      return new Response('v1 content', { status: 200, headers: { 'X-PAYMENT-RESPONSE': response } });
    };
    const res = await payingFetch(server, { adapters: [rail], wallets: [alice] })('https://api.example.com/weather');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('v1 content');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual({
      x402Version: 1,
      scheme: 'exact',
      network: 'base-sepolia',
      payload: {
        from: 'alice',
        nonce: expect.stringMatching(/^[0-9a-f]{32}$/),
        sig: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    const outcome = receiptOf(res);
    expect(outcome).toMatchObject({
      x402Version: 1,
      rail: 'fake-exact',
      offer: { network: 'eip155:84532', amount: '7' },
    });
    expect(outcome?.settleResponse).toEqual({
      success: true,
      transaction: '0xfeed',
      network: 'eip155:84532',
      payer: 'alice',
    });
    // no signed receipt from a v1 server: the same format, built by the client from its SettleResponse
    expect(outcome).toMatchObject({
      receiptSource: 'settle-response',
      receipt: { reference: '0xfeed', amount: '7', payer: 'alice', network: 'eip155:84532', status: 'settled' },
    });
  });
});
