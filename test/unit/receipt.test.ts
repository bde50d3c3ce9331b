import { createHash } from 'node:crypto';
import { CompactSign, importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/canonical';
import { ConfigurationError, ReceiptInvalidError } from '../../src/core/errors';
import { MeteringReceiptSchema, ReceiptSchema, type Receipt, type SignedReceipt } from '../../src/core/receipt/receipt';
import { createReceiptSigner, generateReceiptKey } from '../../src/core/receipt/signer';
import { verifyReceipt } from '../../src/core/receipt/verifyReceipt';

/** RFC 8037 appendix A.1 Ed25519 key. */
const fixedJwk: JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
};

const receipt: Receipt = {
  v: 1,
  id: 'b5a3a7f4-1d6e-4a52-9a0b-3b1f0c2d4e5f',
  issuer: 'https://api.example.com',
  rail: 'evm-eip3009',
  scheme: 'exact',
  network: 'eip155:84532',
  asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  amount: '10000',
  maxAmount: '25000',
  payer: '0x1111111111111111111111111111111111111111',
  payee: '0x2222222222222222222222222222222222222222',
  reference: '0xabababababababababababababababababababababababababababababababab',
  proof: 'cafe',
  request: {
    method: 'POST',
    url: 'https://api.example.com/report?x=1',
    bodyHash: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU',
  },
  requirementsHash: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
  challenge: 'AAAAAAAAAAAAAAAA',
  protocol: 'mpp',
  status: 'settled',
  issuedAt: '2025-01-01T00:00:00.000Z',
  settledAt: '2025-01-01T00:00:01.000Z',
  metering: {
    session: 'c0ffee00-1d6e-4a52-9a0b-3b1f0c2d4e5f',
    deposit: 'b5a3a7f4-1d6e-4a52-9a0b-3b1f0c2d4e50',
    seq: 3,
    authorized: '100000',
    charged: '2500',
    used: '7500',
    remaining: '92500',
    final: true,
    refund: {
      amount: '92500',
      status: 'sent',
      reference: '0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd',
    },
  },
};

async function rejection(promise: Promise<unknown>): Promise<ReceiptInvalidError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ReceiptInvalidError) return error;
    throw error;
  }
  throw new Error('expected a ReceiptInvalidError, the receipt verified');
}

/** A different, still schema-valid value for a receipt field, so the signature (not the schema) must catch it. */
function altered(path: string, value: unknown): unknown {
  switch (path) {
    case 'v':
      return 2;
    case 'network':
      return 'eip155:8453';
    case 'amount':
      return '10001';
    case 'status':
      return value === 'settled' ? 'pending' : 'settled';
    case 'protocol':
      return value === 'mpp' ? 'x402' : 'mpp';
    case 'request.method':
      return 'GET';
    case 'metering.seq':
      return 4;
    case 'metering.final':
      return false;
    case 'metering.refund.status':
      return 'none';
    default:
      if (typeof value !== 'string') throw new Error(`no alteration for ${path}`);
      return value.length > 0 ? `${value.slice(0, -1)}${value.endsWith('0') ? '1' : '0'}` : 'x';
  }
}

/** Every leaf path of the receipt except the signature. */
function leafPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? leafPaths(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

function withPath(signed: SignedReceipt, path: string, next: unknown | undefined): Record<string, unknown> {
  const copy: Record<string, unknown> = structuredClone(signed);
  const keys = path.split('.');
  let target: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) {
    const inner = target[key];
    if (inner === null || typeof inner !== 'object') throw new Error(`bad path ${path}`);
    target = inner as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] ?? '';
  if (next === undefined) delete target[last];
  else target[last] = next;
  return copy;
}

function getPath(value: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      value,
    );
}

describe('receipt signing and verification', () => {
  it('signs a receipt as a detached EdDSA JWS that verifies against the signer JWKS', async () => {
    const signer = await createReceiptSigner();
    const signed = await signer.sign(receipt);
    expect(signed).toMatchObject(receipt);
    expect(signed.signature).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
    const header = JSON.parse(Buffer.from(signed.signature.split('.')[0] ?? '', 'base64url').toString('utf8'));
    expect(header).toEqual({ alg: 'EdDSA', kid: signer.kid, typ: 'x402-receipt+jws' });
    const jwks = signer.jwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: signer.kid, alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d'); // never publish the private part
    expect(await verifyReceipt(signed, jwks)).toEqual(receipt);
    // the JWKS survives a JSON round trip (as it does when served over HTTP)
    expect(await verifyReceipt(JSON.parse(JSON.stringify(signed)), JSON.parse(JSON.stringify(jwks)))).toEqual(receipt);
  });

  it('does not depend on key order', async () => {
    const signer = await createReceiptSigner({ privateJwk: fixedJwk });
    const signed = await signer.sign(receipt);
    const reordered = Object.fromEntries(Object.entries(signed).reverse());
    expect(await verifyReceipt(reordered, signer.jwks())).toEqual(receipt);
  });

  it('verifies a receipt without the optional fields', async () => {
    const signer = await createReceiptSigner();
    const { proof: _p, settledAt: _s, ...minimal } = receipt;
    const signed = await signer.sign(minimal);
    expect(await verifyReceipt(signed, signer.jwks())).toEqual(minimal);
  });

  it('rejects tampering with every field, nested request and metering fields included', async () => {
    const signer = await createReceiptSigner();
    const signed = await signer.sign(receipt);
    const jwks = signer.jwks();
    const paths = leafPaths(receipt);
    expect(paths).toEqual(
      expect.arrayContaining([
        'request.method',
        'request.url',
        'request.bodyHash',
        'proof',
        'settledAt',
        'amount',
        'payee',
      ]),
    );
    // request and metering are objects (their leaves count instead); metering.refund has 3 leaves, metering.settlement (authorize mode) is absent here
    expect(paths).toHaveLength(
      Object.keys(ReceiptSchema.shape).length - 2 + 3 + Object.keys(MeteringReceiptSchema.shape).length - 2 + 3,
    );
    for (const path of paths) {
      const changed = altered(path, getPath(receipt, path));
      const tampered = withPath(signed, path, changed);
      expect(getPath(tampered, path), path).not.toEqual(getPath(receipt, path));
      const error = await rejection(verifyReceipt(tampered, jwks));
      expect(error.code, path).toBe('RECEIPT__INVALID');
    }
  });

  it('rejects a receipt with an optional field removed or added', async () => {
    const signer = await createReceiptSigner();
    const signed = await signer.sign(receipt);
    await rejection(verifyReceipt(withPath(signed, 'proof', undefined), signer.jwks()));
    await rejection(verifyReceipt(withPath(signed, 'settledAt', undefined), signer.jwks()));
    const { proof: _p, ...noProof } = receipt;
    const signedNoProof = await signer.sign(noProof);
    await rejection(verifyReceipt({ ...signedNoProof, proof: 'deadbeef' }, signer.jwks()));
  });

  it('does not return fields the signature does not cover', async () => {
    const signer = await createReceiptSigner();
    const signed = await signer.sign(receipt);
    const verified = await verifyReceipt({ ...signed, injected: 'not signed' }, signer.jwks());
    expect(verified).not.toHaveProperty('injected');
    expect(verified).toEqual(receipt);
  });

  it('rejects a damaged signature, a non-detached JWS and a missing signature', async () => {
    const signer = await createReceiptSigner();
    const signed = await signer.sign(receipt);
    const [header = '', , sig = ''] = signed.signature.split('.');
    const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    await rejection(verifyReceipt({ ...signed, signature: `${header}..${flipped}` }, signer.jwks()));
    const payload = Buffer.from(canonicalJson(receipt)).toString('base64url');
    await rejection(verifyReceipt({ ...signed, signature: `${header}.${payload}.${sig}` }, signer.jwks()));
    await rejection(verifyReceipt({ ...signed, signature: 'garbage' }, signer.jwks()));
    const { signature: _s, ...unsigned } = signed;
    await rejection(verifyReceipt(unsigned, signer.jwks()));
    await rejection(verifyReceipt(null, signer.jwks()));
    await rejection(verifyReceipt('a string', signer.jwks()));
  });

  it('rejects a receipt signed by another key, and says no key matches', async () => {
    const ours = await createReceiptSigner();
    const theirs = await createReceiptSigner();
    const signed = await theirs.sign(receipt);
    const error = await rejection(verifyReceipt(signed, ours.jwks()));
    expect(error.message).toMatch(/no key of the JWKS matches/);
    // same kid, different key: the signature itself fails
    const impostorJwk = { ...(await generateReceiptKey()), kid: ours.kid };
    const impostor = await createReceiptSigner({ privateJwk: impostorJwk });
    expect(impostor.kid).toBe(ours.kid);
    const error2 = await rejection(verifyReceipt(await impostor.sign(receipt), ours.jwks()));
    expect(error2.message).toMatch(/does not verify/);
  });

  it('rejects a valid signature whose JWS type is not a receipt', async () => {
    const signer = await createReceiptSigner({ privateJwk: fixedJwk });
    const key = await importJWK({ ...fixedJwk, alg: 'EdDSA' }, 'EdDSA');
    const jws = await new CompactSign(new TextEncoder().encode(canonicalJson(receipt)))
      .setProtectedHeader({ alg: 'EdDSA', kid: signer.kid, typ: 'JWT' })
      .sign(key);
    const [h, , s] = jws.split('.');
    const error = await rejection(verifyReceipt({ ...receipt, signature: `${h}..${s}` }, signer.jwks()));
    expect(error.message).toMatch(/wrong type/);
  });

  it('binds the request when asked: method, url and bodyHash each must match', async () => {
    const signer = await createReceiptSigner();
    const signed = await signer.sign(receipt);
    const jwks = signer.jwks();
    expect(await verifyReceipt(signed, jwks, { request: { ...receipt.request } })).toEqual(receipt);
    expect(await verifyReceipt(signed, jwks, { request: { url: receipt.request.url } })).toEqual(receipt);
    const cases: Array<[keyof Receipt['request'], string]> = [
      ['method', 'GET'],
      ['url', 'https://api.example.com/report?x=2'],
      ['bodyHash', createHash('sha256').update('other body').digest('base64url')],
    ];
    for (const [field, other] of cases) {
      const error = await rejection(verifyReceipt(signed, jwks, { request: { ...receipt.request, [field]: other } }));
      expect(error.details).toMatchObject({ field, expected: other, actual: receipt.request[field] });
    }
    expect(await verifyReceipt(signed, jwks, { issuer: 'https://api.example.com' })).toEqual(receipt);
    await rejection(verifyReceipt(signed, jwks, { issuer: 'https://evil.example.com' }));
  });

  it('a signer from a fixed private JWK has a stable kid derived from its public key', async () => {
    const a = await createReceiptSigner({ privateJwk: fixedJwk });
    const b = await createReceiptSigner({ privateJwk: { ...fixedJwk } });
    expect(a.kid).toBe(b.kid);
    const expected = createHash('sha256')
      .update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x: fixedJwk.x }))
      .digest('base64url')
      .slice(0, 16);
    expect(a.kid).toBe(expected);
    expect(a.jwks()).toEqual(b.jwks());
    expect(a.jwks().keys[0]?.x).toBe(fixedJwk.x);
    // receipts of one verify under the other's JWKS (a restart keeps receipts verifiable)
    expect(await verifyReceipt(await a.sign(receipt), b.jwks())).toEqual(receipt);
    // an explicit kid is kept
    expect((await createReceiptSigner({ privateJwk: { ...fixedJwk, kid: 'key-2025' } })).kid).toBe('key-2025');
    // an ephemeral signer gets a different key
    expect((await createReceiptSigner()).kid).not.toBe(a.kid);
  });

  it.each<[string, JWK]>([
    ['an RSA key', { kty: 'RSA', n: 'abc', e: 'AQAB', d: 'xyz' }],
    ['an X25519 key', { ...fixedJwk, crv: 'X25519' }],
    ['a public key only', { kty: 'OKP', crv: 'Ed25519', x: fixedJwk.x }],
    ['a key without x', { kty: 'OKP', crv: 'Ed25519', d: fixedJwk.d }],
    ['a d of the wrong length', { ...fixedJwk, d: 'AAAA' }],
    ['a d that is not base64url', { ...fixedJwk, d: '!!!!not-base64!!!!' }],
    ['an x that is not the public key of d', { ...fixedJwk, x: (fixedJwk.x ?? '').replace(/^1/, '2') }],
  ])('refuses %s with ConfigurationError', async (_label, jwk) => {
    await expect(createReceiptSigner({ privateJwk: jwk })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('the ConfigurationError for a bad key never echoes the private part', async () => {
    const secretD = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I';
    try {
      await createReceiptSigner({ privateJwk: { ...fixedJwk, d: secretD } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      if (error instanceof Error) expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(secretD);
      return;
    }
    throw new Error('a d that does not match x must be refused');
  });
});
