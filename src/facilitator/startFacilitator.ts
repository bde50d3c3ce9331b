import { serveFetch, type StartedServer } from '../server/node';
import { ConfigurationError, errorCodes } from '../core/errors';
import { isLoopback } from './isLoopback';
import { createFacilitator, type Facilitator, type FacilitatorOptions } from './createFacilitator';

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
};

/** A running facilitator: its URL (give it to `HTTPFacilitatorClient` or `remoteRail`) and how to stop it. */
export type StartedFacilitator = StartedServer & { facilitator: Facilitator };

/**
 * Serves {@link createFacilitator} on node:http. Without API keys it binds only to loopback (127.0.0.1 by default)
 * unless `allowOpen` says otherwise.
 *
 * @example
 * const { url, close } = await startFacilitator({ rails: [evm], apiKeys: [key], port: 4021 });
 * const client = new HTTPFacilitatorClient({ url, createAuthHeaders: async () => ({ verify: h, settle: h, supported: h }) });
 */
export async function startFacilitator(options: StartFacilitatorOptions): Promise<StartedFacilitator> {
  const { port, hostname, allowOpen, ...rest } = options;
  const open = !rest.apiKeys || rest.apiKeys.length === 0;
  if (open && hostname !== undefined && !isLoopback(hostname) && allowOpen !== true) {
    throw new ConfigurationError(
      `A facilitator without API keys listens only on loopback; ${hostname} would let anyone who reaches it settle through your gas account. Give apiKeys, or pass allowOpen: true to run it open on purpose.`,
      { code: errorCodes.CONFIG_OPEN_FACILITATOR, details: { hostname } },
    );
  }
  const facilitator = createFacilitator(rest);
  const started = await serveFetch(facilitator.fetch, {
    ...(port !== undefined ? { port } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
  });
  return { ...started, facilitator };
}
