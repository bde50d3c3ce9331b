/** The two capability formats behind CapabilityToken: JWS and macaroon (with holder attenuation), and the by-rail composite. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CapabilityClaims } from '../../src/capabilities/capabilityClaims';
import { capabilityTokenByRail } from '../../src/capabilities/capabilityTokenByRail';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { macaroonCapabilityToken } from '../../src/capabilities/macaroonCapabilityToken';
import { peekCapabilityClaims } from '../../src/capabilities/peekCapabilityClaims';
import {
  addFirstPartyCaveat,
  macaroonFromBase64,
  serializeMacaroonV2,
  type Macaroon,
} from '../../src/protocol/macaroon';

const claims: CapabilityClaims = {
  v: 1,
  jti: 'cap-0123456789',
  iss: 'http://shop.test',
  sub: '0xpayer',
  scope: { routes: ['GET /api/:id', 'GET /other'], methods: ['GET', 'POST'] },
  calls: 1000,
  amountCap: '340282366920938463463374607431768211455',
  rateLimit: 12.5,
  iat: 1_800_000_000,
  exp: 1_800_000_600,
  receipt: 'rcpt_abc',
  rail: 'lightning-l402',
};

const encode = (m: Macaroon) => Buffer.from(serializeMacaroonV2(m)).toString('base64url');
const attenuate = (token: string, caveat: string) => encode(addFirstPartyCaveat(macaroonFromBase64(token), caveat));

describe('capability token formats', () => {
  it('JWS and macaroon both carry every claim through issue → read, and a client can peek them without a key', async () => {
    for (const format of [await jwsCapabilityToken(), macaroonCapabilityToken({ rootKey: randomBytes(32) })]) {
      const token = await format.issue(claims);
      expect(token).toMatch(/^[A-Za-z0-9_.-]+$/);
      expect(format.recognizes(token)).toBe(true);
      expect(await format.read(token)).toEqual({ ok: true, claims });
      expect(peekCapabilityClaims(token)).toEqual(claims);
    }
  });

  it('macaroon: another root key (forged) and an edited caveat under the old signature (altered) are capability_invalid', async () => {
    const format = macaroonCapabilityToken({ rootKey: randomBytes(32) });
    const forged = await macaroonCapabilityToken({ rootKey: randomBytes(32) }).issue(claims);
    expect(await format.read(forged)).toMatchObject({ ok: false, reason: 'capability_invalid' });
    const token = await format.issue(claims);
    const m = macaroonFromBase64(token);
    const altered = encode({
      ...m,
      caveats: m.caveats.map((c) =>
        Buffer.from(c.identifier).toString() === 'calls=1000' ? { identifier: Buffer.from('calls=99999') } : c,
      ),
    });
    expect(altered).not.toBe(token);
    expect(await format.read(altered)).toMatchObject({ ok: false, reason: 'capability_invalid' });
    expect(await format.read(token.slice(0, -4))).toMatchObject({ ok: false });
  });

  it('macaroon attenuation by the holder only narrows: earlier exp, fewer routes and methods; never more calls', async () => {
    const format = macaroonCapabilityToken({ rootKey: randomBytes(32) });
    const token = await format.issue(claims);
    const narrowed = attenuate(
      attenuate(attenuate(token, 'exp=1800000100'), 'routes=["GET /other","GET /admin"]'),
      'methods=GET,DELETE',
    );
    expect(await format.read(narrowed)).toEqual({
      ok: true,
      claims: { ...claims, exp: 1_800_000_100, scope: { routes: ['GET /other'], methods: ['GET'] } },
    });
    const later = attenuate(token, 'exp=1900000000');
    expect(await format.read(later)).toMatchObject({ ok: true, claims: { exp: claims.exp } });
    expect(await format.read(attenuate(token, 'calls=1000000'))).toMatchObject({
      ok: false,
      reason: 'capability_invalid',
    });
    expect(await format.read(attenuate(token, 'admin=true'))).toMatchObject({
      ok: false,
      reason: 'capability_invalid',
    });
    expect(await format.read(attenuate(token, 'routes=["GET /admin"]'))).toMatchObject({
      ok: false,
      reason: 'capability_invalid',
    });
  });

  it('a JWS with a raised claim under the old signature is capability_invalid; garbage is malformed', async () => {
    const format = await jwsCapabilityToken();
    const [header, , signature] = (await format.issue(claims)).split('.');
    const raised = Buffer.from(JSON.stringify({ ...claims, calls: 10 ** 9 })).toString('base64url');
    expect(await format.read(`${header}.${raised}.${signature}`)).toMatchObject({
      ok: false,
      reason: 'capability_invalid',
    });
    expect(await format.read('AgEPeDQwMi1jYXBhYmlsaXR5')).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('by rail: Lightning payments get macaroons, others JWS; both are read, anything else is malformed', async () => {
    const jws = await jwsCapabilityToken();
    const macaroon = macaroonCapabilityToken({ rootKey: randomBytes(32) });
    const format = capabilityTokenByRail({ default: jws, rails: { 'lightning-l402': macaroon } });
    expect(format.format).toBe('jws|macaroon');
    const ln = await format.issue(claims);
    const evm = await format.issue({ ...claims, rail: 'evm-eip3009' });
    expect(macaroon.recognizes(ln) && !jws.recognizes(ln)).toBe(true);
    expect(jws.recognizes(evm) && !macaroon.recognizes(evm)).toBe(true);
    expect(await format.read(ln)).toMatchObject({ ok: true, claims: { rail: 'lightning-l402' } });
    expect(await format.read(evm)).toMatchObject({ ok: true, claims: { rail: 'evm-eip3009' } });
    expect(format.recognizes('opaque-session')).toBe(false);
    expect(await format.read('opaque-session')).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
