/** Solana benchmarks: offline verify/s (static inspection + payer signature), paid requests on the litesvm devnet. */
import { PublicKey } from '@solana/web3.js';
import {
  DEFAULT_MAX_COMPUTE_UNIT_LIMIT,
  DEFAULT_MAX_COMPUTE_UNIT_PRICE,
  checkSignerSignature,
  createMintCache,
  decodePaymentTransaction,
  inspectExactTransaction,
  solanaExactClient,
  type ExactExpectations,
} from '../adapters/solana/index';
import type { PaymentRequirements } from '../src/index';
import { benchPaths, type BenchContext } from './setup';
import { paidRows, rate, ratio, throughput, type BenchRow } from './measure';

/** Distinct signed payloads cycled through by the verification loop. */
const PAYLOADS = 64;

/** What the server expects of a payment for `offer` (default compute caps, as `solanaExactServer` has). */
function expectationsOf(offer: PaymentRequirements): ExactExpectations {
  const feePayer = offer.extra.feePayer;
  if (typeof feePayer !== 'string') throw new Error('the Solana offer names no fee payer');
  return {
    feePayer: new PublicKey(feePayer),
    asset: new PublicKey(offer.asset),
    payTo: new PublicKey(offer.payTo),
    amount: BigInt(offer.amount),
    maxComputeUnitPrice: DEFAULT_MAX_COMPUTE_UNIT_PRICE,
    maxComputeUnitLimit: DEFAULT_MAX_COMPUTE_UNIT_LIMIT,
  };
}

/** Offline Solana verifications per second on one core: decode, static inspection and the payer's Ed25519 check, no RPC. */
export async function solanaVerifyRate(ctx: BenchContext, ms = 1500): Promise<number> {
  const [offer] = await ctx.offersOf(benchPaths.solana);
  if (!offer) throw new Error('no Solana offer');
  const client = solanaExactClient();
  const createCtx = { resource: { url: ctx.url(benchPaths.solana) }, x402Version: 2 as const, now: Date.now() };
  const payloads = await Promise.all(
    Array.from({ length: PAYLOADS }, () => client.createPayment(offer, ctx.solanaPayer, createCtx)),
  );
  const want = expectationsOf(offer);
  // The mint is read once (the server caches it too); the loop compares program and decimals like the server does.
  const mint = await createMintCache(ctx.devnets.solana.connection).get(want.asset);

  let i = 0;
  return throughput(
    async () => {
      const tx = decodePaymentTransaction(payloads[i++ % payloads.length] ?? {});
      const inspected = inspectExactTransaction(tx, want);
      if (!inspected.ok) throw new Error(inspected.reason);
      const { transfer } = inspected;
      if (!transfer.programId.equals(mint.programId) || transfer.decimals !== mint.decimals)
        throw new Error('mint mismatch');
      if (checkSignerSignature(tx, transfer.authority) !== 'valid') throw new Error('bad payer signature');
    },
    { ms },
  );
}

/** Solana rows: verifications without RPC (the server's static half of verify), then paid requests/s and latency. */
export async function benchSolana(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const verifyRate = await solanaVerifyRate(ctx);
  const client = solanaExactClient();
  const sha = ctx.baselines.sha256PerSecond;
  rows.push({
    rail: 'solana',
    metric: 'verifications (offline: decode + inspect + Ed25519 check)',
    value: rate(verifyRate),
    baseline: `${rate(sha)} sha256(1 KiB)`,
    ratio: ratio(verifyRate, sha),
  });

  // Paid requests end to end: challenge, build + sign, verify (RPC: landed?, blockhash, simulate), co-sign, send, confirm.
  const paid = ctx.paidRequest(benchPaths.solana, { adapters: [client], wallets: [ctx.solanaPayer] });
  rows.push(
    ...(await paidRows('solana', paid, {
      what: 'litesvm devnet',
      unpaid402PerSecond: await ctx.unpaidPerSecond(benchPaths.solana),
    })),
  );
  return rows;
}
