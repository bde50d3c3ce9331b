/**
 * `npm run bench`: the targets of issue 13 as ratios measured in one run — ours against the official x402 stack
 * (its facilitator and `@x402/hono` server, started here on the same anvil devnet and token, paid by the same
 * official `@x402/fetch` client) or against a bare route — then (full run only) every rail's detail rows and the
 * memory benchmark. Prints a table with a target and a "holds?" column, and writes every figure to a JSON file
 * (`bench/results/<timestamp>.json`, or `BENCH_RESULTS=<path>`) for comparison between runs.
 *
 * `npm run bench -- --quick`: the same target rows with short runs and one round per comparison (under a minute),
 * for a sanity check. `npm run bench -- memory` (or `BENCH_ONLY=memory`) runs only the memory benchmark.
 * `BENCH_POLL_MS` sets the receipt polling interval of both facilitators (default 50, as in the issue).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCapabilities, fullCapabilityPlan } from './capabilities.bench';
import { benchCrossRail } from './crossRail.bench';
import { devnetStartRows, evmDevnetAloneMs } from './devnets.bench';
import { benchEvm } from './evm.bench';
import { benchLightning } from './lightning.bench';
import { benchMemoryInChild } from './memory.bench';
import { markdownTable, millis, rate, type BenchRow } from './measure';
import { startBench, type BenchContext } from './setup';
import { benchSolana } from './solana.bench';
import { measureTargets, type TargetPlan, type TargetRow } from './targets';

const suites: Array<[string, (ctx: BenchContext) => Promise<BenchRow[]>]> = [
  ['cross-rail challenges', benchCrossRail],
  ['evm', benchEvm],
  ['solana', benchSolana],
  ['lightning', benchLightning],
  ['capabilities', benchCapabilities],
];

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const pollMs = Number(process.env.BENCH_POLL_MS ?? 50);

const plans: Record<'quick' | 'full', TargetPlan> = {
  quick: {
    rounds: 1,
    loadSeconds: 1,
    paidMs: 1000,
    verifyMs: 400,
    capabilities: { rounds: 3, roundMs: 200, cpuCalls: 300 },
    pollMs,
    warmRound: false,
  },
  full: {
    rounds: 2,
    loadSeconds: 4,
    paidMs: 6000,
    verifyMs: 2000,
    capabilities: fullCapabilityPlan,
    pollMs,
    warmRound: true,
  },
};

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

/** The memory target (RSS flat: ≤ 1.1× after warm-up) from the memory benchmark's growth row. */
function memoryTarget(rows: BenchRow[]): TargetRow[] {
  const growth = rows.find((r) => r.metric.startsWith('RSS growth'));
  const r = Number(growth?.ratio);
  if (!growth || !Number.isFinite(r)) return [];
  return [
    {
      id: 'M',
      what: `memory: ${growth.metric.replace(' (flat ≈ 1)', '')}, SQLite store`,
      ours: growth.value,
      baseline: growth.baseline ?? '',
      ratio: r,
      target: '≤ 1.1×',
      holds: r <= 1.1,
      raw: { ...growth },
    },
  ];
}

/** Formats a target row's ratio: a rate for the absolute rows, `1.23×` otherwise. */
function ratioText(row: TargetRow): string {
  if (row.baseline.startsWith('(absolute')) return rate(row.ratio);
  return Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : 'n/a';
}

const holdsText = (row: TargetRow) => (row.holds === null ? '—' : row.holds ? 'yes' : 'NO');

/** The target rows as a GitHub markdown table. */
function targetsMarkdown(rows: TargetRow[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '| # | what | ours | baseline | ours / baseline | target | holds? |',
    '|---|---|---:|---|---:|---|---|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.id} | ${cell(r.what)} | ${cell(r.ours)} | ${cell(r.baseline)} | ${ratioText(r)} | ${r.target} | ${holdsText(r)} |`,
    );
  return lines.join('\n');
}

/** The commit the run measured (with `+dirty` when the tree had changes), or `unknown`. */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'adapters', 'bench'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Writes the run's figures to `BENCH_RESULTS` or `bench/results/<timestamp>.json`; returns the path. */
function writeResults(results: unknown, startedAt: Date): string {
  const path =
    process.env.BENCH_RESULTS ??
    join(
      dirname(fileURLToPath(import.meta.url)),
      'results',
      `${startedAt.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`,
    );
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const before = machine();
  const loadBefore = loadavg();
  if ((args[0] ?? process.env.BENCH_ONLY) === 'memory') {
    const memoryRows = await step('memory: paid requests with the SQLite store (own process)', () =>
      benchMemoryInChild(),
    );
    console.table(memoryRows);
    console.log(
      `\n${markdownTable(memoryRows)}\n\nwhole run ${millis(performance.now() - started)}; ${before} at start, ${machine()} at end`,
    );
    return;
  }
  const plan = quick ? plans.quick : plans.full;
  // The quick run takes the same memory row over 1,000 paid requests instead of 100,000.
  if (quick) process.env.BENCH_MEMORY_REQUESTS ??= '1000';
  const memoryRows = await step('memory: paid requests with the SQLite store (own process)', () =>
    benchMemoryInChild(),
  );
  const evmAloneMs = quick ? undefined : await step('devnet start: EVM alone (best of 2)', () => evmDevnetAloneMs());
  const ctx = await step('devnet start: all three + app + baselines', () => startBench());
  const detail: BenchRow[] = evmAloneMs === undefined ? [] : [...devnetStartRows(ctx.devnets.timings, evmAloneMs)];
  let targets: TargetRow[];
  try {
    targets = await step('targets (ours vs official / bare)', () =>
      measureTargets(ctx, plan, (line) => process.stdout.write(`\n  ${line}… `)),
    );
    targets.push(...memoryTarget(memoryRows));
    if (!quick) for (const [name, run] of suites) detail.push(...(await step(name, () => run(ctx))));
  } finally {
    await ctx.stop();
  }
  detail.push(...memoryRows);
  const summary = `${quick ? 'QUICK run (short, one round: a sanity check, not a measurement)' : 'full run'}; receipts polled every ${pollMs} ms on both stacks; whole run ${millis(performance.now() - started)}; ${before} at start, ${machine()} at end`;
  if (detail.length > 0) {
    console.log('\nDetail rows:');
    console.table(detail);
  }
  console.log(`\nTargets of issue 13 (ratios measured in this run):\n`);
  console.table(
    targets.map((r) => ({
      '#': r.id,
      what: r.what,
      ours: r.ours,
      baseline: r.baseline,
      'ours / baseline': ratioText(r),
      target: r.target,
      'holds?': holdsText(r),
    })),
  );
  console.log(`\n${targetsMarkdown(targets)}\n${detail.length > 0 ? `\n${markdownTable(detail)}\n` : ''}\n${summary}`);
  const path = writeResults(
    {
      startedAt: startedAt.toISOString(),
      mode: quick ? 'quick' : 'full',
      commit: commit(),
      node: process.version,
      cores: availableParallelism(),
      loadAverage: { start: loadBefore, end: loadavg() },
      plan,
      baselines: ctx.baselines,
      targets: targets.map((r) => ({ ...r, ratioText: ratioText(r), holdsText: holdsText(r) })),
      detail,
      wholeRunMs: performance.now() - started,
    },
    startedAt,
  );
  console.log(`results: ${path}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
