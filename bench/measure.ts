/** Small measuring helpers for the benchmarks: throughput over a time budget, latency percentiles, table output. */
import { createHash, randomBytes } from 'node:crypto';

/** Options of {@link throughput}. */
export type ThroughputOptions = {
  /** Time budget in milliseconds (default 1500). */
  ms?: number;
  /** Operations in flight at once (default 1). */
  concurrency?: number;
  /** Sequential calls before the clock starts (default 50). */
  warmup?: number;
  /** Also keep warming up (sequentially) until this many milliseconds have passed (default 0). */
  warmupMs?: number;
};

/**
 * Runs `fn` repeatedly (with `concurrency` in flight) for about `ms` milliseconds; returns operations per second.
 * Each in-flight loop passes its own worker index, so a worker can hold its own wallet.
 *
 * @example const perSecond = await throughput(() => app.fetch(new Request(url)), { ms: 1000 });
 */
export async function throughput(
  fn: (worker: number) => Promise<unknown>,
  options: ThroughputOptions = {},
): Promise<number> {
  const ms = options.ms ?? 1500;
  const warmUntil = performance.now() + (options.warmupMs ?? 0);
  for (let i = 0; i < (options.warmup ?? 50) || performance.now() < warmUntil; i++) await fn(0);
  let count = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency ?? 1 }, async (_, worker) => {
      while (performance.now() < end) {
        await fn(worker);
        count++;
      }
    }),
  );
  return (count * 1000) / (performance.now() - started);
}

/**
 * Runs `fn` `n` times sequentially; returns each latency in milliseconds.
 *
 * @example const p50 = percentile(await latencies(paid, 50), 50);
 */
export async function latencies(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** The p-th percentile (0–100) of a sample. */
export function percentile(sample: number[], p: number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The wall time of one call of `fn`, in milliseconds, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t };
}

/** A 1 KiB buffer for {@link sha256Baseline}. */
const KIB = randomBytes(1024);

/**
 * The CPU baseline every offline verification is compared to: SHA-256 digests of a 1 KiB buffer per second,
 * through the same async loop as the verifications. It is rail-independent and cheap, so it mostly cancels the
 * machine's speed out of the ratios and makes rails comparable with each other.
 */
export async function sha256Baseline(ms = 1000): Promise<number> {
  return throughput(async () => createHash('sha256').update(KIB).digest(), { ms, warmup: 500 });
}

/** One row of the benchmark table. */
export type BenchRow = { rail: string; metric: string; value: string; baseline?: string; ratio?: string };

/** Formats a rate. */
export function rate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/** Formats milliseconds (one decimal under 100 ms, whole above). */
export function millis(ms: number): string {
  return ms < 100 ? `${ms.toFixed(1)} ms` : `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/** Formats `value / baseline` with three significant digits (`0.000412`, `0.398`, `12.4`). */
export function ratio(value: number, baseline: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return 'n/a';
  const r = value / baseline;
  if (r >= 100) return Math.round(r).toLocaleString('en-US');
  return r === 0
    ? '0'
    : r
        .toPrecision(3)
        .replace(/^(\d+\.\d*?)0+$/, '$1')
        .replace(/\.$/, '');
}

/**
 * The paid-request rows of one rail: requests/s with `concurrency` in flight (ratio against the rail's own
 * unpaid-402 rate) and p50/p99 latency of a sequential sample (ratio: p50 against the time of one unpaid 402).
 */
export async function paidRows(
  rail: string,
  paid: (worker: number) => Promise<void>,
  options: { what: string; unpaid402PerSecond: number; samples?: number; concurrency?: number; ms?: number },
): Promise<BenchRow[]> {
  const sample = await latencies(() => paid(0), options.samples ?? 40);
  const concurrency = options.concurrency ?? 8;
  const paidRate = await throughput(paid, { ms: options.ms ?? 2000, concurrency, warmup: 0 });
  const p50 = percentile(sample, 50);
  const unpaidMs = 1000 / options.unpaid402PerSecond;
  return [
    {
      rail,
      metric: `paid requests (${options.what}, ${concurrency} in flight)`,
      value: rate(paidRate),
      baseline: `${rate(options.unpaid402PerSecond)} unpaid 402s (same route)`,
      ratio: ratio(paidRate, options.unpaid402PerSecond),
    },
    {
      rail,
      metric: `paid latency p50 / p99 (sequential, n=${sample.length})`,
      value: `${millis(p50)} / ${millis(percentile(sample, 99))}`,
      baseline: `${millis(unpaidMs)} per unpaid 402`,
      ratio: `${ratio(p50, unpaidMs)}× (p50)`,
    },
  ];
}

/** The rows as a GitHub markdown table (pipes in cells escaped), for a closing note. */
export function markdownTable(rows: BenchRow[]): string {
  const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|');
  const lines = ['| rail | metric | value | baseline | ratio |', '|---|---|---:|---|---:|'];
  for (const r of rows)
    lines.push(`| ${cell(r.rail)} | ${cell(r.metric)} | ${cell(r.value)} | ${cell(r.baseline)} | ${cell(r.ratio)} |`);
  return lines.join('\n');
}
