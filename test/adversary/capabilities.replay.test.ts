/**
 * Attack (capabilities review): one EIP-3009 payment on a route whose price buys a capability of 2 more calls; the
 * payer (or whoever copied the payment header) sends the identical paid request again to mint a second capability,
 * and copies the capability to a second client, and tries it on another route.
 *
 * Guarantees: the resent paid request gets back the SAME capability (same id; the client that lost the first answer
 * does not lose what it bought), never a second one: both tokens, held by two clients, share 2 calls in total, then
 * 402 `capability_exhausted`; on another route the capability is refused (402 `capability_wrong_scope`, not served).
 * The payer paid exactly once (payer −price, merchant +price). Own anvil devnet.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evmEip3009Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { capabilities } from '../../src/capabilities/capabilities';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import type { CapabilityToken } from '../../src/capabilities/capabilityToken';
import { payingFetch, type FetchLike } from '../../src/index';
import { PRICE, evmPaywall, walletFor } from '../support/evmHarness';
import { payerPayeeBalances } from './support/evmFlow';

const BASE = 'http://shop.test';
let devnet: EvmDevnet;
let serverFetch: FetchLike;
let token: CapabilityToken;
const served: string[] = [];

beforeAll(async () => {
  devnet = await startEvmDevnet();
  token = await jwsCapabilityToken();
  const caps = capabilities({ token, grants: { 'GET /paid/3009': { calls: 2, ttlSeconds: 600 } } });
  const { fetch } = await evmPaywall(devnet, { extensions: [caps] });
  serverFetch = async (input, init) => {
    const res = await fetch(input, init);
    const path = new URL(String(input)).pathname;
    if (res.status === 200 && path.startsWith('/paid/')) served.push(path); // the handler's answers (not the JWKS)
    return res;
  };
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => payerPayeeBalances(devnet);
const jtiOf = async (capability: string | null) => {
  const read = await token.read(capability ?? '');
  return read.ok ? read.claims.jti : undefined;
};

it('a resent paid request hands back the same capability, never a second; copies share its calls; another route refuses it', async () => {
  const before = await balances();
  // The payer pays once; the paid request (PAYMENT-SIGNATURE and all) is captured on its way out.
  let paidHeaders = new Headers();
  const capturing: FetchLike = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (headers.has('PAYMENT-SIGNATURE')) paidHeaders = headers;
    return serverFetch(input, init);
  };
  const pay = payingFetch(capturing, {
    adapters: [evmEip3009Client()],
    wallets: [walletFor(devnet, 'payer')],
    capabilities: false,
  });
  const bought = await pay(`${BASE}/paid/3009`);
  expect(bought.status).toBe(200);
  const first = bought.headers.get('X402-Capability');
  const jti = await jtiOf(first);
  expect(jti).toMatch(/^cap_/);

  // The identical paid request again: the same capability comes back (same id), not a fresh one.
  const resent = await serverFetch(`${BASE}/paid/3009`, { headers: paidHeaders });
  expect(resent.status).toBe(200);
  const second = resent.headers.get('X402-Capability');
  expect(await jtiOf(second)).toBe(jti);
  expect(served).toEqual(['/paid/3009', '/paid/3009']);

  // Two clients hold the two tokens: together they get exactly the 2 calls bought, then exhaustion.
  const use = (capability: string | null, path = '/paid/3009') =>
    serverFetch(`${BASE}${path}`, { headers: { 'X402-Capability': capability ?? '' } });
  const uses = [await use(first), await use(second), await use(first), await use(second)];
  expect(uses.map((r) => r.status)).toEqual([200, 200, 402, 402]);
  expect(uses.map((r) => r.headers.get('X402-Capability-Remaining'))).toEqual(['1', '0', null, null]);
  expect(uses.slice(2).map((r) => r.headers.get('X402-Capability-Error'))).toEqual([
    'capability_exhausted',
    'capability_exhausted',
  ]);

  // Another paid route: refused, not served.
  const elsewhere = await use(first, '/paid/other');
  expect(elsewhere.status).toBe(402);
  expect(elsewhere.headers.get('X402-Capability-Error')).toBe('capability_wrong_scope');

  // Served 1 (paid) + 1 (resend) + 2 (capability); paid once.
  expect(served).toEqual(['/paid/3009', '/paid/3009', '/paid/3009', '/paid/3009']);
  expect(await balances()).toEqual({ payer: before.payer - PRICE, payee: before.payee + PRICE });
});
