/**
 * Starts load-test server processes (support/server.ts under tsx) and talks to them: their URL, their
 * counters, and a raw HTTP client that pins the `Host` header, so requests to two processes carry the same URL
 * as they would behind one load balancer.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { LoadServerConfig, LoadServerMessage, LoadServerStats } from './server';

const SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));

/** A running server process. */
export type ServerProcess = { url: string; pid: number; stats(): Promise<LoadServerStats>; stop(): Promise<void> };

/** Forks one server process per config and waits until each listens. */
export async function startServerProcesses(configs: LoadServerConfig[]): Promise<ServerProcess[]> {
  const children: ChildProcess[] = [];
  try {
    return await Promise.all(
      configs.map((config) => {
        const child = fork(SCRIPT, [], {
          execArgv: ['--import', 'tsx'],
          env: { ...process.env, X402_LOAD_SERVER: JSON.stringify(config) },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.push(child);
        return new Promise<ServerProcess>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`load server exited with ${code} before it was ready`)));
          child.on('message', (message: LoadServerMessage) => {
            if (message.type === 'ready') resolve(handle(child, message.url, message.pid));
          });
        });
      }),
    );
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
}

function handle(child: ChildProcess, url: string, pid: number): ServerProcess {
  return {
    url,
    pid,
    stats: () =>
      new Promise((resolve) => {
        const onMessage = (message: LoadServerMessage) => {
          if (message.type !== 'stats') return;
          child.off('message', onMessage);
          resolve(message);
        };
        child.on('message', onMessage);
        child.send('stats');
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        child.send('stop');
      }),
  };
}

/** An HTTP answer, read whole. */
export type RawAnswer = { status: number; headers: Record<string, string>; body: string };

/** One shared agent, so 200 requests in flight do not open 200 sockets per process. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * GET `path` from the server at `url`, with `Host` set to `host` (fetch cannot set Host; node:http can).
 *
 * @example await getPinned(server.url, '/paid', 'shop.test', { 'PAYMENT-SIGNATURE': header })
 */
export function getPinned(
  url: string,
  path: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, path, method: 'GET', agent, headers: { ...headers, Host: host } },
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
    req.on('error', reject);
    req.end();
  });
}
