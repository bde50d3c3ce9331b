import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A node:http server listening for a test. */
export type ListeningServer = { url: string; close(): Promise<void> };

/**
 * Serves a node:http listener (an Express app, say) on a free 127.0.0.1 port.
 *
 * @example const server = await listenOnFreePort(app); afterAll(server.close);
 */
export async function listenOnFreePort(listener: RequestListener): Promise<ListeningServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
