import type { PaymentStore } from '../stores/paymentStore';
import type { FetchHandler, PaywallEvent } from './paywall';

/** A breaker as {@link paywallOperations} reports it (what `riskControls().breakers()` answers). */
export type OperationsBreaker = { rail: string; state: 'closed' | 'open' | 'half-open' };

/** Options of {@link paywallOperations}. */
export type PaywallOperationsParameters = {
  /** The paywall's store: readiness reads it, the metrics count its pending payments. */
  store: PaymentStore;
  /** More readiness checks by name, e.g. `{ anvil: () => publicClient.getBlockNumber() }`: a rail's node reachable. */
  checks?: Record<string, () => Promise<unknown>>;
  /** The circuit breakers to report (`risk.breakers`). */
  breakers?: () => OperationsBreaker[];
  /** How long one readiness check may take, ms (default 2 s). */
  checkTimeoutMs?: number;
  /** Paths (default `/healthz`, `/readyz`, `/metrics`). */
  paths?: { health?: string; ready?: string; metrics?: string };
};

/** What {@link paywallOperations} gives a server. */
export type PaywallOperations = {
  /** Pass as the paywall's `onEvent` (or call from yours): counts payments by rail and outcome. */
  onEvent(event: PaywallEvent): void;
  /** Serves the health, readiness and metrics paths; counts and times every other request, then runs `handler`. */
  wrap(handler: FetchHandler): FetchHandler;
  /**
   * Graceful shutdown: readiness answers 503 from now on (the load balancer stops sending), and this waits until
   * every request in flight (a settlement included) has answered, or `timeoutMs` passed. Then close the server.
   */
  drain(timeoutMs?: number): Promise<{ drained: boolean; inFlight: number }>;
  /** The metrics in Prometheus text format. */
  metrics(): Promise<string>;
};

/** Upper bounds of the paid-request latency histogram, seconds. */
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Operations for a paywall behind a load balancer: `GET /healthz` (the process answers), `GET /readyz` (the store
 * and each named check answer within the timeout, and the server is not draining: 200, else 503 with what failed),
 * `GET /metrics` in Prometheus text format, and `drain()` for a graceful shutdown that lets in-flight settlements
 * finish. Metrics: `x402_payments_total{rail,outcome}` (settled, replayed, rejected:<reason>),
 * `x402_paid_request_duration_seconds{outcome}` (a paid request from arrival to answer: verify, handler and
 * settlement), `x402_pending_payments`, `x402_in_flight_requests`, `x402_breaker_state{rail}` (0 closed, 1
 * half-open, 2 open).
 *
 * @example
 * const ops = paywallOperations({ store, breakers: risk.breakers });
 * const pw = paywall(routes, { rails, signer, issuer, store, onEvent: ops.onEvent, extensions: [risk] });
 * const server = await serveFetch(ops.wrap(pw.wrap(handler)));
 * process.on('SIGTERM', async () => { await ops.drain(30_000); await server.close(); });
 */
export function paywallOperations(parameters: PaywallOperationsParameters): PaywallOperations {
  const paths = { health: '/healthz', ready: '/readyz', metrics: '/metrics', ...parameters.paths };
  const timeoutMs = parameters.checkTimeoutMs ?? 2_000;
  const payments = new Map<string, number>();
  const durations = new Map<string, { buckets: number[]; sum: number; count: number }>();
  let inFlight = 0;
  let draining = false;
  let idle: Array<() => void> = [];

  const count = (rail: string, outcome: string) => {
    const key = `${rail}\u0000${outcome}`;
    payments.set(key, (payments.get(key) ?? 0) + 1);
  };
  const observe = (outcome: string, seconds: number) => {
    const h = durations.get(outcome) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count++;
    durations.set(outcome, h);
  };

  async function readiness(): Promise<Response> {
    const checks: Record<string, () => Promise<unknown>> = {
      store: () => parameters.store.get('x402-readiness-probe'),
      ...parameters.checks,
    };
    const failed: Record<string, string> = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise(
              (_, reject) =>
                (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
            ),
          ]);
        } catch (error) {
          // The name and a short cause only: a check's error never carries secrets into the answer by design of its message.
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

  async function metrics(): Promise<string> {
    const lines: string[] = [];
    lines.push(
      '# HELP x402_payments_total Payments answered, by rail and outcome.',
      '# TYPE x402_payments_total counter',
    );
    for (const [key, n] of payments) {
      const [rail = '', outcome = ''] = key.split('\u0000');
      lines.push(`x402_payments_total{rail="${label(rail)}",outcome="${label(outcome)}"} ${n}`);
    }
    lines.push(
      '# HELP x402_paid_request_duration_seconds Paid requests from arrival to answer (verify, handler, settlement).',
      '# TYPE x402_paid_request_duration_seconds histogram',
    );
    for (const [outcome, h] of durations) {
      BUCKETS.forEach((bound, i) =>
        lines.push(
          `x402_paid_request_duration_seconds_bucket{outcome="${label(outcome)}",le="${bound}"} ${h.buckets[i] ?? 0}`,
        ),
      );
      lines.push(`x402_paid_request_duration_seconds_bucket{outcome="${label(outcome)}",le="+Inf"} ${h.count}`);
      lines.push(
        `x402_paid_request_duration_seconds_sum{outcome="${label(outcome)}"} ${h.sum}`,
        `x402_paid_request_duration_seconds_count{outcome="${label(outcome)}"} ${h.count}`,
      );
    }
    const pending = await parameters.store.listPending().then(
      (list) => list.length,
      () => Number.NaN,
    );
    lines.push(
      '# HELP x402_pending_payments Payments broadcast whose outcome is not known yet (NaN: store unreachable).',
      '# TYPE x402_pending_payments gauge',
      `x402_pending_payments ${pending}`,
    );
    lines.push(
      '# HELP x402_in_flight_requests Requests being answered by this instance.',
      '# TYPE x402_in_flight_requests gauge',
      `x402_in_flight_requests ${inFlight}`,
    );
    lines.push(
      '# HELP x402_breaker_state Circuit breaker per rail: 0 closed, 1 half-open, 2 open.',
      '# TYPE x402_breaker_state gauge',
    );
    for (const b of parameters.breakers?.() ?? [])
      lines.push(`x402_breaker_state{rail="${label(b.rail)}"} ${BREAKER_VALUE[b.state]}`);
    return `${lines.join('\n')}\n`;
  }

  return {
    onEvent(event) {
      if (event.type === 'settled') count(event.receipt.rail, 'settled');
      else if (event.type === 'replayed') count('', 'replayed');
      else if (event.type === 'rejected') count('', `rejected:${event.reason}`);
    },
    wrap(handler) {
      return async (request) => {
        const { pathname } = new URL(request.url);
        if (request.method === 'GET' && pathname === paths.health)
          return Response.json({ status: 'ok' }, { headers: { 'Cache-Control': 'no-store' } });
        if (request.method === 'GET' && pathname === paths.ready) return readiness();
        if (request.method === 'GET' && pathname === paths.metrics)
          return new Response(await metrics(), { headers: { 'Content-Type': 'text/plain; version=0.0.4' } });
        const paid = ['payment-signature', 'x-payment', 'authorization'].some((h) => request.headers.has(h));
        const started = performance.now();
        inFlight++;
        try {
          const response = await handler(request);
          if (paid)
            observe(
              response.headers.has('PAYMENT-RESPONSE') && response.status < 400 ? 'paid' : String(response.status),
              (performance.now() - started) / 1000,
            );
          return response;
        } finally {
          inFlight--;
          if (inFlight === 0) for (const wake of idle.splice(0)) wake();
        }
      };
    },
    async drain(timeout = 30_000) {
      draining = true;
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => idle.push(resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout))),
        ]);
        clearTimeout(timer);
        idle = [];
      }
      return { drained: inFlight === 0, inFlight };
    },
    metrics,
  };
}
