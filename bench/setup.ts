/**
 * The shared bench fixture: every devnet started once through `startDevnets`, one Hono app (served in-process,
 * no sockets) whose paywall takes all four rails, the payer wallets of each rail, and the run's baselines.
 */
import { randomBytes } from 'node:crypto';
import { Connection } from '@solana/web3.js';
import { Hono } from 'hono';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  headerNames,
  payingFetch,
  receiptOf,
  type FetchLike,
  type PaymentRequirements,
  type PayingFetchOptions,
  type PriceOffer,
  type RoutesConfig,
} from '../src/index';
import { honoPaywall } from '../src/server/hono';
import { evmWallet, type EvmWallet } from '../adapters/evm/index';
import { solanaWallet, type SolanaWallet } from '../adapters/solana/index';
import { lightningWallet, type LightningWallet } from '../adapters/lightning/index';
import { startDevnets } from '../fixtures/startDevnets';
import { devnetServerRails, type AllDevnets } from '../fixtures/demo/devnetRails';
import { sha256Baseline, throughput } from './measure';

/** All three devnets. */
export type { AllDevnets };

/** Prices, in each rail's atomic units: 0.01 rUSD, 0.01 SPL token, 21 sat. */
export const benchPrices = { evm: 10_000n, solana: 10_000n, lightning: 21_000n } as const;

const offers = {
  evm3009: { rail: 'evm-eip3009', amount: benchPrices.evm },
  evm2612: { rail: 'evm-eip2612', amount: benchPrices.evm },
  solana: { rail: 'solana-spl', amount: benchPrices.solana },
  lightning: { rail: 'lightning-l402', amount: benchPrices.lightning },
} satisfies Record<string, PriceOffer>;

/** The routes of the bench app. `/free` has no paywall; the others are paid. */
export const benchPaths = {
  /** No paywall: the baseline route. */
  free: '/free',
  /** All four rails, in the demo's order (EVM 3009, EVM 2612, Solana, Lightning). */
  all: '/all',
  /** EVM 3009, EVM 2612 and Solana: no per-challenge Lightning invoice. */
  evmSolana: '/evm-solana',
  evm3009: '/paid/evm-3009',
  evm2612: '/paid/evm-2612',
  solana: '/paid/solana',
  lightning: '/paid/lightning',
} as const;

/** One of {@link benchPaths}. */
export type BenchPath = (typeof benchPaths)[keyof typeof benchPaths];

/** Baselines measured once per run, before the suites. */
export type Baselines = {
  /** Requests/s of the unpaid `GET /free` route of the same app. */
  bareRoutePerSecond: number;
  /** SHA-256 digests of 1 KiB per second (see `sha256Baseline`). */
  sha256PerSecond: number;
};

/** What every suite gets. */
export type BenchContext = {
  devnets: AllDevnets;
  /** The app, called in-process. */
  fetch: FetchLike;
  /** Absolute URL of a bench route. */
  url(path: BenchPath): string;
  /** The Lightning rail's macaroon root key (for offline token verification). */
  lightningRootKey: Uint8Array;
  /** Two EVM payers (`payer`, `payer2`), each with a public client (EIP-2612 reads the permit nonce). */
  evmPayers: [EvmWallet, EvmWallet];
  /** The Solana `payer`, on its own connection. */
  solanaPayer: SolanaWallet;
  /** alice's node, which has a channel to bob (the server's node). */
  lightningPayer: LightningWallet;
  baselines: Baselines;
  /** The x402 offers of a route's 402 challenge. */
  offersOf(path: BenchPath): Promise<PaymentRequirements[]>;
  /** Unpaid requests/s to a route (every answer must be a 402), after 300 ms of warm-up. */
  unpaidPerSecond(path: BenchPath, ms?: number): Promise<number>;
  /** A function that makes one paid request through `payingFetch` and throws unless it was served and settled. */
  paidRequest(path: BenchPath, options: PayingFetchOptions): () => Promise<void>;
  stop(): Promise<void>;
};

/** Builds the all-rails Hono app over running devnets. */
async function benchApp(devnets: AllDevnets, lightningRootKey: Uint8Array): Promise<Hono> {
  const rails = Object.values(devnetServerRails(devnets, { lightningRootKey }));
  const routes: RoutesConfig = {
    [`GET ${benchPaths.all}`]: { accepts: [offers.evm3009, offers.evm2612, offers.solana, offers.lightning] },
    [`GET ${benchPaths.evmSolana}`]: { accepts: [offers.evm3009, offers.evm2612, offers.solana] },
    [`GET ${benchPaths.evm3009}`]: { accepts: [offers.evm3009] },
    [`GET ${benchPaths.evm2612}`]: { accepts: [offers.evm2612] },
    [`GET ${benchPaths.solana}`]: { accepts: [offers.solana] },
    [`GET ${benchPaths.lightning}`]: { accepts: [offers.lightning] },
  };
  const app = new Hono();
  app.use(honoPaywall(routes, { rails, signer: await createReceiptSigner(), issuer: 'http://bench.test' }));
  app.get('*', (c) => c.json({ ok: true, path: c.req.path }));
  return app;
}

/**
 * Starts all devnets (through `startDevnets`, so their start timings are the product's), builds the bench app
 * and wallets, and measures the baselines.
 *
 * @example const ctx = await startBench(); try { … } finally { await ctx.stop(); }
 */
export async function startBench(): Promise<BenchContext> {
  const devnets = await startDevnets({ evm: true, solana: true, lightning: true });
  try {
    const { evm, solana, lightning } = devnets;
    const lightningRootKey = new Uint8Array(randomBytes(32));
    const app = await benchApp(devnets, lightningRootKey);
    const fetch: FetchLike = async (input, init) => app.fetch(new Request(input, init));
    const url = (path: BenchPath) => `http://bench.test${path}`;
    const evmPayer = (name: 'payer' | 'payer2') =>
      evmWallet(privateKeyToAccount(evm.accounts[name].privateKey as Hex), { publicClient: evm.publicClient });

    const unpaidPerSecond = (path: BenchPath, ms = 1000) =>
      throughput(
        async () => {
          const res = await fetch(url(path));
          if (res.status !== 402) throw new Error(`${path}: expected 402, got ${res.status}`);
        },
        { ms, warmup: 5, warmupMs: 300 },
      );
    // The first measurement of the run: a longer warm-up, so the JIT is not measured instead of the route.
    const bareRoutePerSecond = await throughput(
      async () => {
        const res = await fetch(url(benchPaths.free));
        if (res.status !== 200) throw new Error(`/free: expected 200, got ${res.status}`);
      },
      { warmupMs: 700 },
    );
    const sha256PerSecond = await sha256Baseline();

    return {
      devnets,
      fetch,
      url,
      lightningRootKey,
      evmPayers: [evmPayer('payer'), evmPayer('payer2')],
      solanaPayer: solanaWallet(solana.keypairs.payer, {
        connection: new Connection(solana.rpcUrl, { commitment: 'confirmed' }),
      }),
      lightningPayer: lightningWallet(lightning.nodes.alice.lnd),
      baselines: { bareRoutePerSecond, sha256PerSecond },
      async offersOf(path) {
        const header = (await fetch(url(path))).headers.get(headerNames.paymentRequired);
        if (header === null) throw new Error(`${path} answered without a PAYMENT-REQUIRED header`);
        return decodePaymentRequiredHeader(header).accepts;
      },
      unpaidPerSecond,
      paidRequest(path, options) {
        const pay = payingFetch(fetch, { verifyReceipts: false, ...options });
        return async () => {
          const res = await pay(url(path));
          if (res.status !== 200 || !receiptOf(res)?.settleResponse?.success)
            throw new Error(`paid request to ${path} failed: ${res.status} ${await res.text()}`);
        };
      },
      stop: () => devnets.stop(),
    };
  } catch (error) {
    await devnets.stop();
    throw error;
  }
}
