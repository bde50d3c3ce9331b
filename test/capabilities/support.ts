import { payingFetch, type FetchLike, type PayingFetchOptions } from '../../src/client/payingFetch';
import { capabilities, type Capabilities, type CapabilitiesOptions } from '../../src/capabilities/capabilities';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { paywall } from '../../src/server/paywall';
import type { RoutesConfig } from '../../src/server/routes';
import { createFakeLedger, fakeRail } from '../unit/support/fakeRail';

export const ORIGIN = 'http://caps.test';

/** Paid routes of the fake-rail capability tests (10 units each). */
export const capabilityRoutes: RoutesConfig = {
  'GET /api/:id': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
  'POST /api/:id': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
  'GET /other': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
  'GET /limited': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
  'GET /metered': { accepts: [{ rail: 'fake-exact', amount: 10n }] },
};

/** What each route's price buys. */
export const capabilityGrants: CapabilitiesOptions['grants'] = {
  'GET /api/:id': { calls: 10, ttlSeconds: 60 },
  'GET /limited': { calls: 100, rateLimit: 2 },
  'GET /metered': { amountCap: 100n, costPerCall: 30n },
};

/**
 * A paywall on the fake rail (real fake-money ledger) with the capabilities extension, served in-process,
 * a settable clock, a counter of handler calls and a settable handler status.
 *
 * @example const s = await capabilitySetup(); const pay = s.client(); await pay(`${ORIGIN}/api/1`);
 */
export async function capabilitySetup(options: Partial<CapabilitiesOptions> = {}) {
  const ledger = createFakeLedger();
  const alice = ledger.open('alice', 1_000n);
  const calls = { quote: 0, verify: 0, settle: 0 };
  const rail = fakeRail({ ledger, calls, payTo: 'merchant' });
  const state = { clockOffset: 0, handlerStatus: 200, handlerCalls: 0 };
  const now = () => Date.now() + state.clockOffset;
  const token = options.token ?? (await jwsCapabilityToken());
  const caps: Capabilities = capabilities({ token, grants: capabilityGrants, ...options });
  const pw = paywall(capabilityRoutes, { rails: [rail], signer: await createReceiptSigner(), now, extensions: [caps] });
  const app = pw.wrap(async (request) => {
    state.handlerCalls++;
    return Response.json(
      { path: new URL(request.url).pathname, method: request.method },
      { status: state.handlerStatus },
    );
  });
  const fetch: FetchLike = async (input, init) => app(new Request(input, init));
  const client = (extra: Partial<PayingFetchOptions> = {}) =>
    payingFetch(fetch, { adapters: [rail], wallets: [alice], verifyReceipts: false, now, ...extra });
  /** Pays once (raw client, no wallet) and returns the capability the paid response carried. */
  const buy = async (path = '/api/1') => {
    const res = await client({ capabilities: false })(`${ORIGIN}${path}`);
    const bought = res.headers.get('X402-Capability');
    if (res.status !== 200 || bought === null) throw new Error(`buying a capability on ${path} failed: ${res.status}`);
    return bought;
  };
  /** A request presenting `capability` (no payment). */
  const present = (path: string, capability: string, init: RequestInit = {}) =>
    fetch(`${ORIGIN}${path}`, { ...init, headers: { 'X402-Capability': capability, ...init.headers } });
  return { ledger, alice, calls, rail, state, token, caps, pw, fetch, client, buy, present };
}
