/** Small measuring helpers for the benchmarks: throughput over a time budget and latency percentiles. */

/** Runs `fn` repeatedly (with `concurrency` in flight) for about `ms` milliseconds; returns operations per second. */
export async function throughput(fn: () => Promise<unknown>, options: { ms?: number; concurrency?: number; warmup?: number } = {}): Promise<number> {
  const ms = options.ms ?? 1500;
  for (let i = 0; i < (options.warmup ?? 50); i++) await fn();
  let count = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency ?? 1 }, async () => {
      while (performance.now() < end) {
        await fn();
        count++;
      }
    }),
  );
  return (count * 1000) / (performance.now() - started);
}

/** Runs `fn` `n` times sequentially; returns each latency in milliseconds. */
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

/** One row of the benchmark table. */
export type BenchRow = { rail: string; metric: string; value: string; baseline?: string; ratio?: string };

/** Formats a rate. */
export function rate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}
