/** EVM benchmarks: offline EIP-3009 verify/s, and paid requests on anvil for EIP-3009 and EIP-2612. */
import {
  evmEip2612Client,
  evmEip3009Client,
  verifyEip3009Signature,
  Eip3009PayloadSchema,
} from '../adapters/evm/index';
import { benchPaths, type BenchContext } from './setup';
import { paidRows, rate, ratio, throughput, type BenchRow } from './measure';

/** Distinct signed payloads cycled through by the verification loop. */
const PAYLOADS = 64;

/**
 * Offline EIP-3009 verifications per second on one core: schema parse, checks and EIP-712 signature recovery of
 * {@link PAYLOADS} distinct signed payloads, no RPC.
 */
export async function eip3009VerifyRate(ctx: BenchContext, ms = 1500): Promise<number> {
  const { evm } = ctx.devnets;
  const [payer] = ctx.evmPayers;
  const [offer] = await ctx.offersOf(benchPaths.evm3009);
  if (!offer) throw new Error('no EIP-3009 offer');
  const client = evmEip3009Client();
  const createCtx = { resource: { url: ctx.url(benchPaths.evm3009) }, x402Version: 2 as const, now: Date.now() };
  const payloads = await Promise.all(
    Array.from({ length: PAYLOADS }, () => client.createPayment(offer, payer, createCtx)),
  );
  let i = 0;
  return throughput(
    async () => {
      const parsed = Eip3009PayloadSchema.parse(payloads[i++ % payloads.length]);
      const result = await verifyEip3009Signature(parsed, offer, {
        network: evm.network,
        token: evm.token,
        now: Date.now(),
      });
      if (!result.isValid) throw new Error(result.reason);
    },
    { ms },
  );
}

/** EVM rows: EIP-3009 verifications without RPC, then paid requests/s and latency for both EVM rails. */
export async function benchEvm(ctx: BenchContext): Promise<BenchRow[]> {
  const [payer, payer2] = ctx.evmPayers;
  const rows: BenchRow[] = [];

  const verifyRate = await eip3009VerifyRate(ctx);
  const client = evmEip3009Client();
  const sha = ctx.baselines.sha256PerSecond;
  rows.push({
    rail: 'evm',
    metric: 'EIP-3009 verifications (offline: parse + EIP-712 recover)',
    value: rate(verifyRate),
    baseline: `${rate(sha)} sha256(1 KiB)`,
    ratio: ratio(verifyRate, sha),
  });

  // Paid requests end to end: challenge, sign, verify with RPC reads, settle, mine, signed receipt.
  const pay3009 = ctx.paidRequest(benchPaths.evm3009, { adapters: [client], wallets: [payer] });
  rows.push(
    ...(await paidRows('evm-3009', pay3009, {
      what: 'anvil',
      unpaid402PerSecond: await ctx.unpaidPerSecond(benchPaths.evm3009),
    })),
  );

  // EIP-2612 permits carry the owner's sequential nonce, so one owner has one payment in flight: one worker per payer.
  const pay2612First = ctx.paidRequest(benchPaths.evm2612, { adapters: [evmEip2612Client()], wallets: [payer] });
  const pay2612Second = ctx.paidRequest(benchPaths.evm2612, { adapters: [evmEip2612Client()], wallets: [payer2] });
  rows.push(
    ...(await paidRows('evm-2612', (worker) => (worker % 2 === 0 ? pay2612First : pay2612Second)(), {
      what: 'anvil, one per owner',
      unpaid402PerSecond: await ctx.unpaidPerSecond(benchPaths.evm2612),
      concurrency: 2,
    })),
  );
  return rows;
}
