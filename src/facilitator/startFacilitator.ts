import { serveFetch, type StartedServer } from '../server/node';
import { ConfigurationError, errorCodes } from '../core/errors';
import { isLoopback } from './isLoopback';
import { createFacilitator, type Facilitator, type FacilitatorOptions } from './createFacilitator';
import {
  facilitatorOperations,
  type FacilitatorOperations,
  type FacilitatorOperationsParameters,
} from './facilitatorOperations';

/** Options of {@link startFacilitator}: the facilitator's, plus where to listen. */
export type StartFacilitatorOptions = FacilitatorOptions & {
  /** Port (default: a free ephemeral port). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  hostname?: string;
  /**
   * Listen beyond loopback without API keys (default false): anyone who reaches the port can then verify and settle
   * through the gas account. Without keys and without this, a non-loopback `hostname` is a ConfigurationError.
   */
  allowOpen?: boolean;
  /**
   * Serve `/healthz`, `/readyz` and `/metrics` beside the facilitator ({@link facilitatorOperations}, on the same
   * store; its `onEvent` is chained after yours), and make `close()` graceful: readiness turns 503, the settlements in
   * flight finish (at most `drainTimeoutMs`, default 30 s), then the server closes. Off by default.
   */
  operations?: Omit<FacilitatorOperationsParameters, 'store'> & { drainTimeoutMs?: number };
};

/** A running facilitator: its URL (give it to `HTTPFacilitatorClient` or `remoteRail`) and how to stop it. */
export type StartedFacilitator = StartedServer & {
  facilitator: Facilitator;
  /** The operations, when {@link StartFacilitatorOptions.operations} asked for them. */
  operations?: FacilitatorOperations;
};

/**
 * Serves {@link createFacilitator} on node:http. Without API keys it binds only to loopback (127.0.0.1 by default)
 * unless `allowOpen` says otherwise.
 *
 * @example
 * const { url, close } = await startFacilitator({ rails: [evm], apiKeys: [key], port: 4021 });
 * const client = new HTTPFacilitatorClient({ url, createAuthHeaders: async () => ({ verify: h, settle: h, supported: h }) });
 */
export async function startFacilitator(options: StartFacilitatorOptions): Promise<StartedFacilitator> {
  const { port, hostname, allowOpen, operations: opsOptions, ...rest } = options;
  const open = !rest.apiKeys || rest.apiKeys.length === 0;
  if (open && hostname !== undefined && !isLoopback(hostname) && allowOpen !== true) {
    throw new ConfigurationError(
      `A facilitator without API keys listens only on loopback; ${hostname} would let anyone who reaches it settle through your gas account. Give apiKeys, or pass allowOpen: true to run it open on purpose.`,
      { code: errorCodes.CONFIG_OPEN_FACILITATOR, details: { hostname } },
    );
  }
  if (!opsOptions) {
    const facilitator = createFacilitator(rest);
    const started = await serveFetch(facilitator.fetch, listenOn(port, hostname));
    return { ...started, facilitator };
  }
  const { drainTimeoutMs, ...opsParameters } = opsOptions;
  // The store is created here when the caller gave none, so the operations read the facilitator's own.
  const facilitator = createFacilitator({
    ...rest,
    onEvent: (event) => {
      rest.onEvent?.(event);
      operations.onEvent(event);
    },
  });
  const operations = facilitatorOperations({ ...opsParameters, store: facilitator.store });
  const started = await serveFetch(operations.wrap(facilitator.fetch), listenOn(port, hostname));
  return {
    ...started,
    facilitator,
    operations,
    close: async () => {
      await operations.drain(drainTimeoutMs ?? 30_000);
      // The answers just handed back may still be on their way to the socket: close gently (idle connections now,
      // busy ones once their answer is written), and cut what is left after 5 s.
      await new Promise<void>((resolve) => {
        started.server.close(() => resolve());
        started.server.closeIdleConnections();
        setTimeout(() => started.server.closeAllConnections(), 5_000).unref();
      });
    },
  };
}

function listenOn(port: number | undefined, hostname: string | undefined) {
  return { ...(port !== undefined ? { port } : {}), ...(hostname !== undefined ? { hostname } : {}) };
}
