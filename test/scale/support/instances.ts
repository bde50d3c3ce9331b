/**
 * Starts scale-test server instances (scaleServer.ts under tsx), talks to them over IPC, kills them, and puts a small
 * round-robin HTTP proxy in front of them (the load balancer: a target that refuses the connection is skipped).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
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

function ask<T extends ScaleServerMessage['type']>(
  child: ChildProcess,
  message: string,
  type: T,
): Promise<Extract<ScaleServerMessage, { type: T }>> {
  return new Promise((resolve) => {
    const onMessage = (reply: ScaleServerMessage) => {
      if (reply.type !== type) return;
      child.off('message', onMessage);
      resolve(reply as Extract<ScaleServerMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

/** Forks one instance per config and waits until each listens. */
export async function startInstances(configs: ScaleServerConfig[]): Promise<Instance[]> {
  const children: ChildProcess[] = [];
  try {
    return await Promise.all(
      configs.map((config) => {
        const child = fork(SCRIPT, [], {
          execArgv: ['--import', 'tsx'],
          env: { ...process.env, X402_SCALE_SERVER: JSON.stringify(config) },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.push(child);
        return new Promise<Instance>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`scale server exited with ${code} before it was ready`)));
          child.on('message', (message: ScaleServerMessage) => {
            if (message.type === 'ready') resolve(instance(child, message.url, message.pid));
          });
        });
      }),
    );
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
}

function instance(child: ChildProcess, url: string, pid: number): Instance {
  const exited = new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
  return {
    url,
    pid,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    served: async () => (await ask(child, 'served', 'served')).served,
    reconcile: () => ask(child, 'reconcile', 'reconciled'),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.send('stop');
      await exited;
      clearTimeout(killer);
    },
  };
}

/** A running proxy. */
export type RoundRobinProxy = { url: string; close(): Promise<void> };

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

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
      { hostname, port, path: req.url, method: req.method, headers: req.headers, agent },
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
export type Answer = { status: number; headers: Record<string, string>; body: string };

/** GET `path` at `url` with `Host: shop.test` (every instance sees the URL a load balancer would pass on). */
export function get(url: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, path, method: 'GET', agent, headers: { ...headers, Host: 'shop.test' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const flat: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
