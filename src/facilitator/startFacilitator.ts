import { serveFetch, type StartedServer } from '../server/node';
import { createFacilitator, type Facilitator, type FacilitatorOptions } from './createFacilitator';

/** Options of {@link startFacilitator}: the facilitator's, plus where to listen. */
export type StartFacilitatorOptions = FacilitatorOptions & {
  /** Port (default: a free ephemeral port). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  hostname?: string;
};

/** A running facilitator: its URL (give it to `HTTPFacilitatorClient` or `remoteRail`) and how to stop it. */
export type StartedFacilitator = StartedServer & { facilitator: Facilitator };

/**
 * Serves {@link createFacilitator} on node:http.
 *
 * @example
 * const { url, close } = await startFacilitator({ rails: [evm], apiKeys: [key], port: 4021 });
 * const client = new HTTPFacilitatorClient({ url, createAuthHeaders: async () => ({ verify: h, settle: h, supported: h }) });
 */
export async function startFacilitator(options: StartFacilitatorOptions): Promise<StartedFacilitator> {
  const { port, hostname, ...rest } = options;
  const facilitator = createFacilitator(rest);
  const started = await serveFetch(facilitator.fetch, { ...(port !== undefined ? { port } : {}), ...(hostname !== undefined ? { hostname } : {}) });
  return { ...started, facilitator };
}
