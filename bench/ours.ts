/**
 * Our side of the head-to-head, on the same devnets as the official stack: one Hono app behind `honoPaywall`
 * (served with `serveFetch`, like theirs), the same app without the middleware, and our facilitator over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { evmEip3009Server } from '../adapters/evm/index';
import { devnetServerRails, type AllDevnets } from '../fixtures/demo/devnetRails';
import { createReceiptSigner, type PriceOffer, type RoutesConfig } from '../src/index';
import type { StartedFacilitator } from '../src/facilitator/index';
import { honoPaywall } from '../src/server/hono';
import { serveFetch, type StartedServer } from '../src/server/node';
import { OFFICIAL_PRICE } from '../test/interop/support/officialEvm';
import { FACILITATOR_KEY, startEvmFacilitator } from '../test/support/facilitatorHarness';

/** Routes of our head-to-head app (`/weather` and `/free` as on the official app). */
export const oursPaths = {
  /** No price. */
  free: '/free',
  /** EIP-3009 only, at the official app's price: the paid comparison and nothing else. */
  weather: '/weather',
  /** EIP-3009 + Solana offers. */
  evmSolana: '/evm-solana',
  /** EIP-3009 + Solana + Lightning offers (an invoice per challenge unless pooled). */
  withLightning: '/with-lightning',
} as const;

/** Our stack, running. */
export type OursStack = {
  /** The app behind the paywall middleware. */
  server: StartedServer;
  /** The same app (same handlers) without the middleware. */
  bare: StartedServer;
  /** Our facilitator over the devnet's EVM rails, with its bearer header. */
  facilitator: StartedFacilitator;
  facilitatorHeaders: Record<string, string>;
  close(): Promise<void>;
};

/** The handlers both our apps (and, for `/weather` and `/free`, the official one) serve. */
function handlers(app: Hono): Hono {
  app.get('/weather', (c) => c.json({ weather: 'sunny' }));
  app.get('/free', (c) => c.json({ free: true }));
  app.get('*', (c) => c.json({ ok: true, path: c.req.path }));
  return app;
}

/**
 * Starts our stack: EIP-3009 settled from `facilitator` with receipts polled every `pollMs` (as the official
 * facilitator's), Solana and Lightning as the demo takes them.
 */
export async function startOursStack(devnets: AllDevnets, pollMs: number): Promise<OursStack> {
  const { evm } = devnets;
  const demo = devnetServerRails(devnets, { lightningRootKey: new Uint8Array(randomBytes(32)) });
  const evm3009 = evmEip3009Server({
    publicClient: evm.publicClient,
    walletClient: evm.walletClientFor('facilitator'),
    pollingIntervalMs: pollMs,
    chainId: evm.chainId,
    token: evm.token,
    payTo: evm.accounts.payee.address,
  });
  const eip3009: PriceOffer = { rail: 'evm-eip3009', amount: OFFICIAL_PRICE };
  const solana: PriceOffer = { rail: 'solana-spl', amount: 10_000n };
  const lightning: PriceOffer = { rail: 'lightning-l402', amount: 21_000n };
  const routes: RoutesConfig = {
    [`GET ${oursPaths.weather}`]: { accepts: [eip3009] },
    [`GET ${oursPaths.evmSolana}`]: { accepts: [eip3009, solana] },
    [`GET ${oursPaths.withLightning}`]: { accepts: [eip3009, solana, lightning] },
  };
  const app = new Hono();
  app.use(
    honoPaywall(routes, {
      rails: [evm3009, demo.solana, demo.lightning],
      signer: await createReceiptSigner(),
      issuer: 'http://bench.test',
    }),
  );
  handlers(app);
  const bareApp = handlers(new Hono());
  const server = await serveFetch((request) => app.fetch(request));
  const bare = await serveFetch((request) => bareApp.fetch(request));
  const facilitator = await startEvmFacilitator(evm);
  return {
    server,
    bare,
    facilitator,
    facilitatorHeaders: { Authorization: `Bearer ${FACILITATOR_KEY}` },
    close: async () => {
      await server.close();
      await bare.close();
      await facilitator.close();
    },
  };
}
