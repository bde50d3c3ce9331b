/**
 * The paywall under fuzz: the real EVM EIP-3009, Solana SPL and Lightning L402 server rails on the local
 * devnets, a memory store, and counters on every call that could move money (each rail's `settle`, the
 * store's `settle` and `markPending`), so a test can prove that nothing was settled.
 */
import {
  createReceiptSigner,
  paywall,
  type PaymentStore,
  type RoutesConfig,
  type ServerRail,
} from '../../../src/index';
import { createMemoryPaymentStore } from '../../../src/stores/memoryPaymentStore';
import { devnetServerRails, type AllDevnets } from '../../../fixtures/demo/devnetRails';

export type { AllDevnets };

/** Paths of the fuzzed paywall. */
export const fuzzPaths = {
  /** EVM EIP-3009 and Solana: no per-challenge invoice, so rejections are cheap. */
  chain: '/fuzz/chain',
  /** Lightning L402 only. */
  lightning: '/fuzz/ln',
  /** Every rail (POST, with a body). */
  all: '/fuzz/all',
} as const;

/** Everything that could have moved money, counted. */
export type MoneyCalls = { railSettle: number; storeSettle: number; storeMarkPending: number; claimed: Set<string> };

/** The fuzzed paywall, served in-process. */
export type FuzzPaywall = { handler: (request: Request) => Promise<Response>; store: PaymentStore; calls: MoneyCalls };

/** Builds the paywall over running devnets. */
export async function fuzzPaywall(devnets: AllDevnets): Promise<FuzzPaywall> {
  const calls: MoneyCalls = { railSettle: 0, storeSettle: 0, storeMarkPending: 0, claimed: new Set() };
  const counted = <R extends ServerRail>(rail: R): R => ({
    ...rail,
    settle: (...args: Parameters<ServerRail['settle']>) => {
      calls.railSettle++;
      return rail.settle(...args);
    },
  });
  const { evm3009, solana, lightning } = devnetServerRails(devnets);
  const rails: ServerRail[] = [counted(evm3009), counted(solana), counted(lightning)];
  const memory = createMemoryPaymentStore();
  const store: PaymentStore = {
    ...memory,
    claim: async (paymentId, requestKey, leaseMs) => {
      calls.claimed.add(paymentId);
      return memory.claim(paymentId, requestKey, leaseMs);
    },
    settle: async (paymentId, receipt) => {
      calls.storeSettle++;
      return memory.settle(paymentId, receipt);
    },
    markPending: async (paymentId, rail, reference) => {
      calls.storeMarkPending++;
      return memory.markPending(paymentId, rail, reference);
    },
  };
  const evmOffer = { rail: 'evm-eip3009', amount: 10_000n };
  const sol = { rail: 'solana-spl', amount: 10_000n };
  const ln = { rail: 'lightning-l402', amount: 21_000n };
  const routes: RoutesConfig = {
    [`GET ${fuzzPaths.chain}`]: { accepts: [evmOffer, sol] },
    [`GET ${fuzzPaths.lightning}`]: { accepts: [ln] },
    [`POST ${fuzzPaths.all}`]: { accepts: [evmOffer, sol, ln] },
  };
  const pw = paywall(routes, { rails, signer: await createReceiptSigner(), store });
  const wrapped = pw.wrap(async (request) => Response.json({ served: new URL(request.url).pathname }));
  return { handler: async (request) => wrapped(request), store, calls };
}
