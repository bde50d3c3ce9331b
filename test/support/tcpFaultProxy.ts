/**
 * A TCP proxy (node:net) in front of a node's gRPC socket, for "node down" faults: `cut()` closes the
 * listener and drops every connection (the node is unreachable), `stall()` keeps connections open but
 * forwards nothing more (the node hangs; `stall('replies')` still delivers the calls, so the node acts on
 * them, and loses its answers), `restore()` brings it back on the same port. Bytes pass through
 * untouched, TLS included, so the client's certificate checks still run against the real node.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { listen } from './faultProxy';

/** A running {@link startTcpFaultProxy}. */
export type TcpFaultProxy = {
  /** `localhost:<port>`, as ln-service's `socket` option wants it. */
  socket: string;
  port: number;
  /** Node down: refuse new connections and destroy open ones. */
  cut(): Promise<void>;
  /** Node hung: connections stay open, nothing is forwarded either way (`'replies'`: calls still reach the node, answers are lost). */
  stall(direction?: 'both' | 'replies'): void;
  /** Node back: listen again (after `cut`) and forward (after `stall`). */
  restore(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Starts a TCP proxy on a free port in front of `upstreamPort` on localhost.
 *
 * @example
 * const proxy = await startTcpFaultProxy(devnet.nodes.bob.socket);
 * const lnd = authenticatedLndGrpc({ socket: proxy.socket, cert, macaroon }).lnd;
 */
export async function startTcpFaultProxy(upstream: string): Promise<TcpFaultProxy> {
  const upstreamPort = Number(upstream.split(':').pop());
  const pairs = new Set<{ client: Socket; node: Socket }>();
  let stalled: 'both' | 'replies' | undefined;

  const server: Server = createServer((client) => {
    const node = connect(upstreamPort, '127.0.0.1');
    const pair = { client, node };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      node.destroy();
    };
    client.on('error', drop).on('close', drop);
    node.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (stalled !== 'both') node.write(chunk);
    });
    node.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
  });

  const port = await listen(server, 0);
  const dropAll = () => {
    for (const { client, node } of pairs) {
      client.destroy();
      node.destroy();
    }
    pairs.clear();
  };
  return {
    socket: `localhost:${port}`,
    port,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropAll();
      });
    },
    stall(direction = 'both') {
      stalled = direction;
    },
    async restore() {
      // A stalled connection is broken for good (bytes were dropped): drop it, the client reconnects.
      if (stalled) dropAll();
      stalled = undefined;
      if (!server.listening) await listen(server, port);
    },
    async close() {
      dropAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
