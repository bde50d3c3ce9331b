/**
 * Cross-rail challenge throughput: unpaid 402s on a route offering all four rails and on one offering EVM +
 * Solana only, against the bare route of the same app. The gap between the two paid routes is the cost of the
 * Lightning quote, which creates an invoice on the node (gRPC) for every challenge.
 */
import { benchPaths, type BenchContext } from './setup';
import { millis, rate, ratio, type BenchRow } from './measure';

/** Challenge-throughput rows of the all-rails route and the EVM + Solana route. */
export async function benchCrossRail(ctx: BenchContext): Promise<BenchRow[]> {
  const bare = ctx.baselines.bareRoutePerSecond;
  const bareText = `${rate(bare)} bare Hono route`;
  const all = await ctx.unpaidPerSecond(benchPaths.all, 1500);
  const evmSolana = await ctx.unpaidPerSecond(benchPaths.evmSolana, 1500);
  const invoiceMs = 1000 / all - 1000 / evmSolana;
  return [
    {
      rail: 'all four',
      metric: 'unpaid 402 challenges (EVM 3009 + 2612, Solana, Lightning)',
      value: rate(all),
      baseline: bareText,
      ratio: ratio(all, bare),
    },
    {
      rail: 'EVM + Solana',
      metric: 'unpaid 402 challenges (EVM 3009 + 2612, Solana)',
      value: rate(evmSolana),
      baseline: bareText,
      ratio: ratio(evmSolana, bare),
    },
    {
      rail: 'all four',
      metric: "Lightning's share: per-challenge invoice + macaroon",
      value: `+${millis(invoiceMs)} per challenge`,
      baseline: `${rate(evmSolana)} EVM + Solana route`,
      ratio: ratio(all, evmSolana),
    },
  ];
}
