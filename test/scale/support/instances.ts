/**
 * Starts scale-test server instances (scaleServer.ts under tsx), talks to them over IPC, kills them, and puts a small
 * round-robin HTTP proxy in front of them (the load balancer: a target that refuses the connection is skipped).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { forkServers, getPinned, serverAgent, type RawAnswer } from '../../support/serverProcesses';
import type { ScaleServerConfig, ScaleServerMessage } from './scaleServer';

const SCRIPT = fileURLToPath(new URL('./scaleServer.ts', import.meta.url));

/** A running instance. */
export type Instance = {
  url: string;
  pid: number;
  readonly alive: boolean;
  /** Payments its handler served (by x-scale-payment tag). */
  served(): Promise<Record<string, number>>;
  /** Runs the paywall's reconcile() there; answers what it did and how many payments are still pending in the store. */
  reconcile(): Promise<Extract<ScaleServerMessage, { type: 'reconciled' }>>;
  /** SIGKILL: no shutdown, whatever it was doing is cut off. */
  kill(): Promise<void>;
  stop(): Promise<void>;
};

/** Forks one instance per config and waits until each listens. */
export async function startInstances(configs: ScaleServerConfig[]): Promise<Instance[]> {
  const servers = await forkServers<ScaleServerMessage>(SCRIPT, 'X402_SCALE_SERVER', configs);
  return servers.map((server) => ({
    url: server.url,
    pid: server.pid,
    get alive() {
      return server.alive;
    },
    served: async () => (await server.ask('served', 'served')).served,
    reconcile: () => server.ask('reconcile', 'reconciled'),
    kill: () => server.kill(),
    stop: () => server.stop(),
  }));
}

/** A running proxy. */
export type RoundRobinProxy = { url: string; close(): Promise<void> };

/**
 * A round-robin HTTP proxy over `targets()` (read on every request, so killed instances drop out): each request goes
 * to the next target; a target that fails before answering is skipped for the next one (GET only: safe to resend).
 *
 * @example const proxy = await roundRobinProxy(() => instances.filter((i) => i.alive).map((i) => i.url));
 */
export async function roundRobinProxy(targets: () => string[]): Promise<RoundRobinProxy> {
  let next = 0;
  const forward = (req: IncomingMessage, res: ServerResponse, tries: number) => {
    const list = targets();
    const target = list[next++ % Math.max(1, list.length)];
    if (!target || tries >= list.length) {
      res.writeHead(502).end('no instance answered');
      return;
    }
    const { hostname, port } = new URL(target);
    const upstream = httpRequest(
      { hostname, port, path: req.url, method: req.method, headers: req.headers, agent: serverAgent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) forward(req, res, tries + 1);
      else res.destroy();
    });
    upstream.end();
  };
  const server = createServer((req, res) => forward(req, res, 0));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP answer, read whole. */
export type Answer = RawAnswer;

/** GET `path` at `url` with `Host: shop.test` (every instance sees the URL a load balancer would pass on). */
export function get(url: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return getPinned(url, path, 'shop.test', headers);
}
