import {
  breakerLines,
  inFlightTracker,
  promCounter,
  promGauge,
  promHistogram,
  readinessResponse,
  type OperationsCommonParameters,
} from './operationsParts';
import type { FetchHandler, PaywallEvent } from './paywall';

export type { OperationsBreaker } from './operationsParts';

/** Options of {@link paywallOperations}. */
export type PaywallOperationsParameters = OperationsCommonParameters;

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
  const payments = promCounter('x402_payments_total', 'Payments answered, by rail and outcome.', ['rail', 'outcome']);
  const durations = promHistogram(
    'x402_paid_request_duration_seconds',
    'Paid requests from arrival to answer (verify, handler, settlement).',
    'outcome',
  );
  const requests = inFlightTracker();

  const readiness = () =>
    readinessResponse(
      { store: () => parameters.store.get('x402-readiness-probe'), ...parameters.checks },
      timeoutMs,
      requests.draining,
    );

  async function metrics(): Promise<string> {
    const pending = await parameters.store.listPending().then(
      (list) => list.length,
      () => Number.NaN,
    );
    const lines = [
      ...payments.lines(),
      ...durations.lines(),
      ...promGauge(
        'x402_pending_payments',
        'Payments broadcast whose outcome is not known yet (NaN: store unreachable).',
        pending,
      ),
      ...promGauge('x402_in_flight_requests', 'Requests being answered by this instance.', requests.inFlight),
      ...breakerLines(parameters.breakers?.() ?? []),
    ];
    return `${lines.join('\n')}\n`;
  }

  return {
    onEvent(event) {
      if (event.type === 'settled') payments.inc(event.receipt.rail, 'settled');
      else if (event.type === 'replayed') payments.inc('', 'replayed');
      else if (event.type === 'rejected') payments.inc('', `rejected:${event.reason}`);
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
        return requests.track(async () => {
          const response = await handler(request);
          if (paid)
            durations.observe(
              response.headers.has('PAYMENT-RESPONSE') && response.status < 400 ? 'paid' : String(response.status),
              (performance.now() - started) / 1000,
            );
          return response;
        });
      };
    },
    drain: (timeout) => requests.drain(timeout),
    metrics,
  };
}
