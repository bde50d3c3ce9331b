/**
 * The pieces every operations wrapper shares (the paywall's {@link paywallOperations} and the facilitator's
 * `facilitatorOperations`): a readiness answer from named checks, a Prometheus histogram and counter, label
 * escaping, and the in-flight count a graceful shutdown drains.
 */

import type { PaymentStore } from '../stores/paymentStore';

/** A circuit breaker as the operations wrappers report it (what `riskControls().breakers()` answers). */
export type OperationsBreaker = { rail: string; state: 'closed' | 'open' | 'half-open' };

/** What every operations wrapper is configured with: its store, readiness checks, breakers and paths. */
export type OperationsCommonParameters = {
  /** The service's store: readiness reads it, the metrics count its pending settlements. */
  store: PaymentStore;
  /** Readiness checks by name, e.g. `{ anvil: () => publicClient.getBlockNumber() }`: a rail's node reachable. */
  checks?: Record<string, () => Promise<unknown>>;
  /** The circuit breakers to report (`risk.breakers`, or those the operator runs in front of the rails). */
  breakers?: () => OperationsBreaker[];
  /** How long one readiness check may take, ms (default 2 s). */
  checkTimeoutMs?: number;
  /** Paths (default `/healthz`, `/readyz`, `/metrics`). */
  paths?: { health?: string; ready?: string; metrics?: string };
};

/** Prometheus value of each breaker state. */
export const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Upper bounds of the latency histograms, seconds. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A Prometheus label value, escaped. */
export const promLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Runs each named check with a timeout: 200 `{ status: 'ready' }` when all answered and the server is not
 * draining, else 503 `{ status: 'unavailable', failed: { name: errorName } }` (a check's error name only, never its
 * message: messages may carry URLs with credentials).
 */
export async function readinessResponse(
  checks: Record<string, () => Promise<unknown>>,
  timeoutMs: number,
  draining: boolean,
): Promise<Response> {
  const failed: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise(
            (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
          ),
        ]);
      } catch (error) {
        failed[name] = error instanceof Error ? error.name : 'failed';
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  if (draining) failed.server = 'draining';
  const ok = Object.keys(failed).length === 0;
  return Response.json(
    { status: ok ? 'ready' : 'unavailable', ...(ok ? {} : { failed }) },
    { status: ok ? 200 : 503, headers: { 'Cache-Control': 'no-store' } },
  );
}

/** A counter with labels, written in Prometheus text format. */
export function promCounter(name: string, help: string, labelNames: readonly string[]) {
  const values = new Map<string, { labels: string[]; n: number }>();
  return {
    inc(...labels: string[]) {
      const key = labels.join('\u0000');
      const entry = values.get(key) ?? { labels, n: 0 };
      entry.n++;
      values.set(key, entry);
    },
    lines(): string[] {
      const out = [`# HELP ${name} ${help}`, `# TYPE ${name} counter`];
      for (const { labels, n } of values.values())
        out.push(`${name}{${labelNames.map((l, i) => `${l}="${promLabel(labels[i] ?? '')}"`).join(',')}} ${n}`);
      return out;
    },
  };
}

/** A histogram with one label, written in Prometheus text format. */
export function promHistogram(name: string, help: string, labelName: string, buckets = LATENCY_BUCKETS) {
  const series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  return {
    observe(label: string, value: number) {
      const h = series.get(label) ?? { buckets: buckets.map(() => 0), sum: 0, count: 0 };
      buckets.forEach((bound, i) => {
        if (value <= bound) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
      });
      h.sum += value;
      h.count++;
      series.set(label, h);
    },
    lines(): string[] {
      const out = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
      for (const [label, h] of series) {
        const l = `${labelName}="${promLabel(label)}"`;
        buckets.forEach((bound, i) => out.push(`${name}_bucket{${l},le="${bound}"} ${h.buckets[i] ?? 0}`));
        out.push(
          `${name}_bucket{${l},le="+Inf"} ${h.count}`,
          `${name}_sum{${l}} ${h.sum}`,
          `${name}_count{${l}} ${h.count}`,
        );
      }
      return out;
    },
  };
}

/** A gauge line (NaN allowed: Prometheus reads it). */
export function promGauge(name: string, help: string, value: number, labels = ''): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}${labels} ${value}`];
}

/** The breaker gauge, one line per rail. */
export function breakerLines(breakers: readonly OperationsBreaker[]): string[] {
  return [
    '# HELP x402_breaker_state Circuit breaker per rail: 0 closed, 1 half-open, 2 open.',
    '# TYPE x402_breaker_state gauge',
    ...breakers.map((b) => `x402_breaker_state{rail="${promLabel(b.rail)}"} ${BREAKER_VALUE[b.state]}`),
  ];
}

/**
 * Counts requests in flight and lets a graceful shutdown wait for them: `track` around each request, `drain` marks
 * the server draining (readiness answers 503) and waits until nothing is in flight or `timeoutMs` passed.
 */
export function inFlightTracker() {
  let inFlight = 0;
  let draining = false;
  let idle: Array<() => void> = [];
  return {
    get inFlight() {
      return inFlight;
    },
    get draining() {
      return draining;
    },
    async track<T>(work: () => Promise<T>): Promise<T> {
      inFlight++;
      try {
        return await work();
      } finally {
        inFlight--;
        if (inFlight === 0) for (const wake of idle.splice(0)) wake();
      }
    },
    async drain(timeoutMs = 30_000): Promise<{ drained: boolean; inFlight: number }> {
      draining = true;
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => idle.push(resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]);
        clearTimeout(timer);
        idle = [];
      }
      return { drained: inFlight === 0, inFlight };
    },
  };
}
