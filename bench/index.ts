/**
 * `npm run bench`: every rail side by side. Figures are ratios against a baseline measured in the same
 * run, never absolute pass/fail thresholds. Prints a console table and the same rows as markdown.
 *
 * Baselines: the devnet start against the EVM devnet alone; 402 challenges against a bare route of the same
 * Hono app; offline verifications against SHA-256 of 1 KiB (rail-independent CPU work, so the rails compare
 * with each other); paid requests against the unpaid-402 rate of the same route.
 *
 * `npm run bench -- memory` (or `BENCH_ONLY=memory`) runs only the memory benchmark (100,000 paid requests with
 * the SQLite store, in a process of its own), which needs no devnet; the full run does it first.
 */
import { availableParallelism, loadavg } from 'node:os';
import { benchCapabilities } from './capabilities.bench';
import { benchCrossRail } from './crossRail.bench';
import { devnetStartRows, evmDevnetAloneMs } from './devnets.bench';
import { benchEvm } from './evm.bench';
import { benchLightning } from './lightning.bench';
import { benchMemoryInChild } from './memory.bench';
import { markdownTable, millis, rate, type BenchRow } from './measure';
import { startBench, type BenchContext } from './setup';
import { benchSolana } from './solana.bench';

const suites: Array<[string, (ctx: BenchContext) => Promise<BenchRow[]>]> = [
  ['cross-rail challenges', benchCrossRail],
  ['evm', benchEvm],
  ['solana', benchSolana],
  ['lightning', benchLightning],
  ['capabilities', benchCapabilities],
];

/** Runs `run`, printing its name and how long it took. */
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  process.stdout.write(`bench ${name}… `);
  const t = performance.now();
  const value = await run();
  console.log(millis(performance.now() - t));
  return value;
}

/** Cores and 1-minute load average: the figures are only comparable on a machine that was not busy. */
function machine(): string {
  return `${availableParallelism()} cores, load average ${(loadavg()[0] ?? 0).toFixed(1)}`;
}

/** Prints the rows as a console table and as markdown, with the summary line. */
function report(rows: BenchRow[], summary: string): void {
  console.log(`\n${summary}\n`);
  console.table(rows);
  console.log(`\n${markdownTable(rows)}\n\n${summary}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const before = machine();
  const memoryRows = await step('memory: paid requests with the SQLite store (own process)', () =>
    benchMemoryInChild(),
  );
  if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'memory') {
    report(memoryRows, `whole run ${millis(performance.now() - started)}; ${before} at start, ${machine()} at end`);
    return;
  }
  const evmAloneMs = await step('devnet start: EVM alone (best of 2)', () => evmDevnetAloneMs());
  const ctx = await step('devnet start: all three + app + baselines', () => startBench());
  const rows: BenchRow[] = [...devnetStartRows(ctx.devnets.timings, evmAloneMs)];
  try {
    for (const [name, run] of suites) rows.push(...(await step(name, () => run(ctx))));
  } finally {
    await ctx.stop();
  }
  const { bareRoutePerSecond, sha256PerSecond } = ctx.baselines;
  rows.push(...memoryRows);
  report(
    rows,
    `baselines: bare Hono route ${rate(bareRoutePerSecond)}, sha256(1 KiB) ${rate(sha256PerSecond)}; whole run ${millis(performance.now() - started)}; ${before} at start, ${machine()} at end`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
