/**
 * The Lightning form: an L402 payment on the Lightning devnet (LND-protocol stand-in) buys a capability
 * issued as a macaroon; the client presents it for later calls (alice's channel balance moves once), an
 * attenuated copy is narrower, an altered one is refused, and exhaustion leads to a second Lightning payment.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lightningClient, lightningWallet } from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { capabilities } from '../../src/capabilities/capabilities';
import { capabilityTokenByRail } from '../../src/capabilities/capabilityTokenByRail';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { macaroonCapabilityToken } from '../../src/capabilities/macaroonCapabilityToken';
import { createCapabilityWallet } from '../../src/client/capabilityWallet';
import { payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { addFirstPartyCaveat, macaroonFromBase64, serializeMacaroonV2 } from '../../src/protocol/macaroon';
import { LN_PRICE, lightningPaywall } from '../support/lightningHarness';

const BASE = 'http://shop.test';
let devnet: LightningDevnet;
let serverFetch: FetchLike;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  const token = capabilityTokenByRail({
    default: await jwsCapabilityToken(),
    rails: { 'lightning-l402': macaroonCapabilityToken({ rootKey: randomBytes(32) }) },
  });
  const caps = capabilities({
    token,
    grants: { 'GET /ln/report': { calls: 3, ttlSeconds: 600, scope: { routes: ['GET /ln/report', 'GET /ln/other'] } } },
  });
  ({ fetch: serverFetch } = await lightningPaywall(devnet, { paywall: { extensions: [caps] } }));
});
afterAll(async () => {
  await devnet?.stop();
});

const present = (path: string, token: string) =>
  serverFetch(`${BASE}${path}`, { headers: { 'X402-Capability': token } });

describe('capabilities on the Lightning devnet (macaroon form)', () => {
  it('an L402 payment buys a macaroon capability; the client spends it, then pays over Lightning again', async () => {
    const wallet = createCapabilityWallet();
    const pay = payingFetch(serverFetch, {
      adapters: [lightningClient({ maxFeeMsat: 1_000n })],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
      capabilities: wallet,
      verifyReceipts: false,
    });
    const start = devnet.channelBalance('alice');
    const bought = await pay(`${BASE}/ln/report`);
    expect(bought.status).toBe(200);
    const token = bought.headers.get('X402-Capability') ?? '';
    expect(macaroonFromBase64(token).location).toBe('x402-capability');
    expect(wallet.held(BASE)[0]?.claims).toMatchObject({
      rail: 'lightning-l402',
      calls: 3,
      scope: { routes: ['GET /ln/report', 'GET /ln/other'] },
    });
    const paidOnce = devnet.channelBalance('alice');
    expect(start - paidOnce).toBeGreaterThanOrEqual(LN_PRICE);

    const served = [await pay(`${BASE}/ln/report`), await pay(`${BASE}/ln/other`), await pay(`${BASE}/ln/report`)];
    expect(served.map((r) => [r.status, r.headers.get('X402-Capability-Remaining'), receiptOf(r)])).toEqual([
      [200, '2', undefined],
      [200, '1', undefined],
      [200, '0', undefined],
    ]);
    expect(devnet.channelBalance('alice')).toBe(paidOnce);

    const again = await pay(`${BASE}/ln/report`);
    expect(again.status).toBe(200);
    expect(receiptOf(again)?.settleResponse?.success).toBe(true);
    expect(paidOnce - devnet.channelBalance('alice')).toBeGreaterThanOrEqual(LN_PRICE);
  });

  it('a holder-attenuated macaroon is narrower; an altered one is refused; the original still works', async () => {
    const wallet = createCapabilityWallet();
    const pay = payingFetch(serverFetch, {
      adapters: [lightningClient({ maxFeeMsat: 1_000n })],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
      capabilities: wallet,
      verifyReceipts: false,
    });
    const token = (await pay(`${BASE}/ln/report`)).headers.get('X402-Capability') ?? '';
    const encode = (m: ReturnType<typeof macaroonFromBase64>) =>
      Buffer.from(serializeMacaroonV2(m)).toString('base64url');
    const narrowed = encode(addFirstPartyCaveat(macaroonFromBase64(token), 'routes=["GET /ln/other"]'));
    const refused = await present('/ln/report', narrowed);
    expect(refused.status).toBe(402);
    expect(refused.headers.get('X402-Capability-Error')).toBe('capability_wrong_scope');
    expect((await present('/ln/other', narrowed)).headers.get('X402-Capability-Remaining')).toBe('2');

    const m = macaroonFromBase64(token);
    const altered = encode({
      ...m,
      caveats: m.caveats.map((c) =>
        Buffer.from(c.identifier).toString().startsWith('calls=') ? { identifier: Buffer.from('calls=1000000') } : c,
      ),
    });
    const forged = await present('/ln/report', altered);
    expect(forged.status).toBe(402);
    expect(forged.headers.get('X402-Capability-Error')).toBe('capability_invalid');
    expect((await present('/ln/report', token)).headers.get('X402-Capability-Remaining')).toBe('1');
  });
});
