import { randomBytes } from 'node:crypto';
import {
  createReceiptSigner,
  paywall,
  type FetchLike,
  type Paywall,
  type PaywallOptions,
  type RoutesConfig,
} from '../../src/index';
import {
  lightningServer,
  type LightningServerParameters,
  type LightningServerRail,
} from '../../adapters/lightning/index';
import type { LightningDevnet } from '../../fixtures/lightning/index';

/** Price of the Lightning test routes: 21 sat. */
export const LN_PRICE = 21_000n;
/** Price above carol's 1,000 sat of outbound balance. */
export const LN_BIG_PRICE = 2_000_000n;

/** Routes of the Lightning tests. */
export const lightningRoutes: RoutesConfig = {
  'GET /ln/report': { accepts: [{ rail: 'lightning-l402', amount: LN_PRICE }], description: 'Lightning paid' },
  'GET /ln/other': { accepts: [{ rail: 'lightning-l402', amount: LN_PRICE }] },
  '/ln/any': { accepts: [{ rail: 'lightning-l402', amount: LN_PRICE }] },
  'GET /ln/big': { accepts: [{ rail: 'lightning-l402', amount: LN_BIG_PRICE }] },
  'GET /ln/fails': { accepts: [{ rail: 'lightning-l402', amount: LN_PRICE }] },
};

/** A settable clock: real time plus an offset. */
export type TestClock = { offsetMs: number; now(): number };

/** What {@link lightningPaywall} returns. */
export type LightningPaywall = {
  pw: Paywall;
  fetch: FetchLike;
  rail: LightningServerRail;
  rootKey: Uint8Array;
  clock: TestClock;
};

/**
 * A paywall over bob's node (the server) with the Lightning rail, served in-process through `pw.wrap`.
 *
 * @example const { fetch, rootKey } = await lightningPaywall(devnet);
 */
export async function lightningPaywall(
  devnet: LightningDevnet,
  options: { rail?: Partial<Omit<LightningServerParameters, 'lnd'>>; paywall?: Partial<PaywallOptions> } = {},
): Promise<LightningPaywall> {
  const rootKey = options.rail?.rootKey ?? new Uint8Array(randomBytes(32));
  const clock: TestClock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  const rail = lightningServer({ lnd: devnet.nodes.bob.lnd, network: devnet.network, ...options.rail, rootKey });
  const pw = paywall(lightningRoutes, {
    rails: [rail],
    signer: await createReceiptSigner(),
    now: clock.now,
    ...options.paywall,
  });
  const handler = pw.wrap(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/ln/fails') return new Response('boom', { status: 500 });
    return Response.json({ ok: true, path, method: request.method });
  });
  const fetch: FetchLike = async (input, init) => handler(new Request(input, init));
  return { pw, fetch, rail, rootKey, clock };
}
