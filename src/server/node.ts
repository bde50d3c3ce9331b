import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { FetchHandler, Paywall } from './paywall';

/**
 * A node:http request listener for a paywalled Fetch-API handler.
 *
 * @example createServer(nodeListener(pw, (req) => new Response('paid content'))).listen(8080);
 */
export function nodeListener(pw: Paywall, handler: FetchHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return getRequestListener(pw.wrap(handler));
}

/** A started server with its URL. */
export type StartedServer = { url: string; port: number; server: Server; close(): Promise<void> };

/**
 * Serves a Fetch-API handler (paywalled or not) on node:http, on `port` (default: a free ephemeral port on 127.0.0.1).
 *
 * @example const { url, close } = await serveFetch(pw.wrap(handler));
 */
export async function serveFetch(
  fetch: FetchHandler,
  options: { port?: number; hostname?: string } = {},
): Promise<StartedServer> {
  const server = createServer(getRequestListener(fetch));
  const hostname = options.hostname ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, hostname, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
