/**
 * Load over real sockets: autocannon (in a worker thread, off the event loop of the servers under test) for
 * requests that can be replayed, and concurrent loops of a paying client for paid requests (each one needs a
 * fresh signature, which no load generator makes).
 */
import autocannon from 'autocannon';
import { percentile } from './measure';

/** Requests/s and latency of one socket load run. */
export type LoadResult = { perSecond: number; p50Ms: number; p99Ms: number; requests: number };

/** Options of {@link socketLoad}. */
export type SocketLoadOptions = {
  /** Connections kept open (default 32). */
  connections?: number;
  /** Seconds of load (default 2). */
  seconds: number;
  /** Every answer must have this status (default 200). */
  status?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
};

/**
 * Drives `url` with autocannon and returns requests/s and latency; throws when any answer had another status than
 * `status`, or on socket errors (a fast error page would otherwise pass for throughput).
 *
 * @example const { perSecond } = await socketLoad(`${server.url}/free`, { seconds: 2 });
 */
export async function socketLoad(url: string, options: SocketLoadOptions): Promise<LoadResult> {
  const status = options.status ?? 200;
  // One request first: a wrong status or a hang shows here with its body, and the route is warm.
  const init = {
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    signal: AbortSignal.timeout(10_000),
  };
  const first = await fetch(url, init);
  const firstBody = await first.text();
  if (first.status !== status)
    throw new Error(`${url}: expected ${status}, got ${first.status} ${firstBody.slice(0, 300)}`);
  const result = await autocannon({
    url,
    connections: options.connections ?? 32,
    duration: options.seconds,
    workers: 1,
    method: options.method ?? 'GET',
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const answered = Object.values(result.statusCodeStats).reduce((n, s) => n + s.count, 0);
  const wanted = result.statusCodeStats[String(status)]?.count ?? 0;
  if (answered === 0 || wanted !== answered || result.errors > 0)
    throw new Error(
      `${url}: expected only ${status}, got ${JSON.stringify(result.statusCodeStats)} (${result.errors} socket errors)`,
    );
  return {
    // Answers over the run's wall time: an average of per-second samples would miss a slow start on short runs.
    perSecond: answered / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: answered,
  };
}

/**
 * Runs `request` in `concurrency` loops for `ms` milliseconds (after `warmup` sequential calls) and returns
 * requests/s and the p50/p99 of every call's latency. `request` throws unless its request was served.
 */
export async function loopLoad(
  request: () => Promise<void>,
  options: { concurrency: number; ms: number; warmup?: number },
): Promise<LoadResult> {
  for (let i = 0; i < (options.warmup ?? 2); i++) await request();
  const sample: number[] = [];
  const end = performance.now() + options.ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await request();
        sample.push(performance.now() - t);
      }
    }),
  );
  return {
    perSecond: (sample.length * 1000) / (performance.now() - started),
    p50Ms: percentile(sample, 50),
    p99Ms: percentile(sample, 99),
    requests: sample.length,
  };
}
