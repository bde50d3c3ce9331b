/**
 * Server processes for the multi-process tests (test/load, test/scale): forks a server script under tsx with its
 * config in an environment variable, waits for its `{ type: 'ready', url, pid }` over IPC, asks it questions over
 * IPC, kills or stops it; and a raw HTTP GET that pins the `Host` header, so requests to several processes carry the
 * URL they would carry behind one load balancer (fetch cannot set Host; node:http can).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';

/** What every server script sends once it listens. */
export type ReadyMessage = { type: 'ready'; url: string; pid: number };

/** A running server process whose script answers messages of type `M`. */
export type ServerProcess<M extends { type: string }> = {
  url: string;
  pid: number;
  readonly alive: boolean;
  /** Sends `message` and resolves with the first reply of type `type`. */
  ask<T extends M['type']>(message: string, type: T): Promise<Extract<M, { type: T }>>;
  /** SIGKILL: no shutdown, whatever it was doing is cut off. */
  kill(): Promise<void>;
  /** Sends 'stop' and waits for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
};

/**
 * Forks `script` once per config (the config as JSON in `env[configVariable]`) and waits until each is ready. A
 * process that exits before it is ready fails the whole start, and every process started is killed.
 *
 * @example const servers = await forkServers<LoadServerMessage>(SCRIPT, 'X402_LOAD_SERVER', configs);
 */
export async function forkServers<M extends { type: string }>(
  script: string,
  configVariable: string,
  configs: readonly unknown[],
): Promise<Array<ServerProcess<M>>> {
  const children: ChildProcess[] = [];
  try {
    return await Promise.all(
      configs.map((config) => {
        const child = fork(script, [], {
          execArgv: ['--import', 'tsx'],
          env: { ...process.env, [configVariable]: JSON.stringify(config) },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.push(child);
        return new Promise<ServerProcess<M>>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
          child.on('message', (message: ReadyMessage | M) => {
            if (message.type === 'ready' && 'url' in message && 'pid' in message)
              resolve(serverProcess<M>(child, message.url, message.pid));
          });
        });
      }),
    );
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
}

function serverProcess<M extends { type: string }>(child: ChildProcess, url: string, pid: number): ServerProcess<M> {
  const exited = new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
  return {
    url,
    pid,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    ask(message, type) {
      return new Promise((resolve) => {
        const onMessage = (reply: M) => {
          if (reply.type !== type) return;
          child.off('message', onMessage);
          resolve(reply as Extract<M, { type: typeof type }>);
        };
        child.on('message', onMessage);
        child.send(message);
      });
    },
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

/** An HTTP answer, read whole. */
export type RawAnswer = { status: number; headers: Record<string, string>; body: string };

/** One shared keep-alive agent, so hundreds of requests in flight do not open a socket each. */
export const serverAgent = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * GET `path` from the server at `url` with `Host: host`; gives up after 60 s.
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
      { hostname, port, path, method: 'GET', agent: serverAgent, headers: { ...headers, Host: host } },
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
