import {
  breakerLines,
  inFlightTracker,
  promCounter,
  promGauge,
  promHistogram,
  readinessResponse,
  type OperationsCommonParameters,
} from '../server/operationsParts';
import type { FacilitatorEvent } from './createFacilitator';

/** Options of {@link facilitatorOperations}. */
export type FacilitatorOperationsParameters = OperationsCommonParameters;

/** What {@link facilitatorOperations} gives a facilitator. */
export type FacilitatorOperations = {
  /** Pass as the facilitator's `onEvent` (or call from yours): counts requests by kind and outcome. */
  onEvent(event: FacilitatorEvent): void;
  /** Serves the health, readiness and metrics paths; counts, times and tracks every other request, then runs `fetch`. */
  wrap(fetch: (request: Request) => Promise<Response>): (request: Request) => Promise<Response>;
  /**
   * Graceful shutdown: readiness answers 503 from now on, and this waits until every request in flight (a
   * settlement waiting for its transaction included) has answered, or `timeoutMs` passed. Then close the server.
   */
  drain(timeoutMs?: number): Promise<{ drained: boolean; inFlight: number }>;
  /** The metrics in Prometheus text format. */
  metrics(): Promise<string>;
};

/** The request kinds counted, by the path's last segment. */
const KINDS = ['verify', 'settle', 'supported', 'resources'] as const;

const kindOf = (path: string) => KINDS.find((kind) => path.endsWith(`/${kind}`)) ?? 'other';

/**
 * Operations for a facilitator behind a load balancer, named like the paywall's ({@link paywallOperations}):
 * `GET /healthz`, `GET /readyz` (the store and each named rail check answer within the timeout, and the service is
 * not draining), `GET /metrics`, and `drain()`. Metrics: `x402_facilitator_requests_total{kind,outcome}` (kind
 * `verify`, `settle`, `supported`, `resources`; outcome `valid`, `invalid:<reason>`, `settled`,
 * `failed:<reason>`, `pending`, `ok`, `unauthorized`, `error:<code>`), `x402_facilitator_settle_duration_seconds
 * {outcome}` (a `/settle` from arrival to answer, confirmation included; outcome `settled`, `pending`, `failed`, or
 * the HTTP status), `x402_facilitator_pending_settlements`, `x402_facilitator_in_flight_requests`,
 * `x402_breaker_state{rail}`. The paths answer without the API key: expose them to the load balancer and the
 * scraper only. They carry no key, payload or signature.
 *
 * @example
 * const ops = facilitatorOperations({ store, checks: { anvil: () => publicClient.getBlockNumber() } });
 * const facilitator = createFacilitator({ rails, store, apiKeys, onEvent: ops.onEvent });
 * const server = await serveFetch(ops.wrap(facilitator.fetch), { port: 4021 });
 * process.on('SIGTERM', async () => { await ops.drain(30_000); await server.close(); });
 */
export function facilitatorOperations(parameters: FacilitatorOperationsParameters): FacilitatorOperations {
  const paths = { health: '/healthz', ready: '/readyz', metrics: '/metrics', ...parameters.paths };
  const timeoutMs = parameters.checkTimeoutMs ?? 2_000;
  const requests = promCounter('x402_facilitator_requests_total', 'Facilitator requests, by kind and outcome.', [
    'kind',
    'outcome',
  ]);
  const settleDurations = promHistogram(
    'x402_facilitator_settle_duration_seconds',
    'Settle requests from arrival to answer (verification, broadcast, confirmation).',
    'outcome',
  );
  const tracker = inFlightTracker();

  async function metrics(): Promise<string> {
    const pending = await parameters.store.listPending().then(
      (list) => list.length,
      () => Number.NaN,
    );
    const lines = [
      ...requests.lines(),
      ...settleDurations.lines(),
      ...promGauge(
        'x402_facilitator_pending_settlements',
        'Settlements broadcast whose outcome is not known yet (NaN: store unreachable).',
        pending,
      ),
      ...promGauge(
        'x402_facilitator_in_flight_requests',
        'Requests being answered by this facilitator instance.',
        tracker.inFlight,
      ),
      ...breakerLines(parameters.breakers?.() ?? []),
    ];
    return `${lines.join('\n')}\n`;
  }

  return {
    onEvent(event) {
      if (event.type === 'verified') requests.inc('verify', event.isValid ? 'valid' : `invalid:${event.reason ?? ''}`);
      else if (event.type === 'settled')
        requests.inc(
          'settle',
          event.success
            ? 'settled'
            : event.reason === 'settlement_pending'
              ? 'pending'
              : `failed:${event.reason ?? ''}`,
        );
      else if (event.type === 'unauthorized') requests.inc(kindOf(event.path), 'unauthorized');
      else if (event.type === 'error') requests.inc(kindOf(event.path), `error:${event.code}`);
    },
    wrap(fetch) {
      return async (request) => {
        const { pathname } = new URL(request.url);
        if (request.method === 'GET' && pathname === paths.health)
          return Response.json({ status: 'ok' }, { headers: { 'Cache-Control': 'no-store' } });
        if (request.method === 'GET' && pathname === paths.ready)
          return readinessResponse(
            { store: () => parameters.store.get('x402-readiness-probe'), ...parameters.checks },
            timeoutMs,
            tracker.draining,
          );
        if (request.method === 'GET' && pathname === paths.metrics)
          return new Response(await metrics(), { headers: { 'Content-Type': 'text/plain; version=0.0.4' } });
        const kind = kindOf(pathname);
        const started = performance.now();
        return tracker.track(async () => {
          const response = await fetch(request);
          if (kind === 'settle' && request.method === 'POST')
            settleDurations.observe(await settleOutcome(response), (performance.now() - started) / 1000);
          else if ((kind === 'supported' || kind === 'resources') && response.status < 400) requests.inc(kind, 'ok');
          return response;
        });
      };
    },
    drain: (timeout) => tracker.drain(timeout),
    metrics,
  };
}

/** How a `/settle` answer ended: its SettleResponse's outcome when it is one, else its status. */
async function settleOutcome(response: Response): Promise<string> {
  if (response.status !== 200) return String(response.status);
  try {
    const body: unknown = await response.clone().json();
    if (typeof body !== 'object' || body === null) return '200';
    if ('success' in body && body.success === true) return 'settled';
    return 'errorReason' in body && body.errorReason === 'settlement_pending' ? 'pending' : 'failed';
  } catch {
    return '200';
  }
}
