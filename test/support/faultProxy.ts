/**
 * A small HTTP forwarding proxy in front of a JSON-RPC endpoint that injects faults on demand, so a rail's
 * real client library (viem, web3.js) meets a real timeout, 5xx or refused connection.
 *
 * Modes: `pass` forwards; `hang-after-forward` forwards the call (the node acts on it: a transaction IS
 * accepted) and then never answers, or answers after `holdMs`; `status-5xx` answers an error status without
 * forwarding; `refuse` makes the endpoint unreachable (the listener is closed and open sockets destroyed,
 * or, for a method filter, the socket of a matching call is destroyed). A mode may name the JSON-RPC
 * methods it applies to, and a method `after` which it starts (e.g. the status polls after the send); every
 * other call passes. When the upstream itself is down, the client's socket
 * is destroyed, as a dead node would leave it.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';

/** One fault, optionally limited to some JSON-RPC methods (e.g. `eth_sendRawTransaction`). */
export type FaultMode =
  | { kind: 'pass' }
  | ({ kind: 'hang-after-forward'; holdMs?: number } & FaultScope)
  | ({ kind: 'status-5xx'; status?: number } & FaultScope)
  | ({ kind: 'refuse' } & FaultScope);

/**
 * Which calls a fault hits: only these methods, only once a call of `after` went through, and only the first
 * `times` of them (default: all, at once, for ever).
 */
export type FaultScope = { methods?: readonly string[]; after?: string; times?: number };

/** A running {@link startFaultProxy}. */
export type FaultProxy = {
  /** `http://127.0.0.1:<port>`: give this to the rail instead of the node's URL. */
  url: string;
  port: number;
  /** Switches the fault; takes effect for the next call (`refuse` without methods also cuts open sockets). */
  set(mode: FaultMode): Promise<void>;
  /** Points the proxy at another upstream (a restarted node on another port). */
  retarget(upstream: string): void;
  /** How many calls of `method` reached the upstream (forwarded) so far. */
  forwarded(method: string): number;
  /** Stops the proxy, dropping held answers. */
  close(): Promise<void>;
};

/**
 * Starts a fault proxy on a free port in front of `upstream` (mode `pass`).
 *
 * @example
 * const proxy = await startFaultProxy(anvil.rpcUrl);
 * await proxy.set({ kind: 'hang-after-forward', methods: ['eth_sendRawTransaction'] });
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  let target = new URL(upstream);
  let mode: FaultMode = { kind: 'pass' };
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (body) => handle(body, req, res),
      () => res.destroy(),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  /** Set when the current mode's `after` method has gone through. */
  let armed = false;
  /** Calls the current mode has hit. */
  let hits = 0;

  function applies(methods: readonly string[]): boolean {
    if (mode.kind === 'pass') return false;
    if (mode.after !== undefined && !armed) {
      if (methods.includes(mode.after)) armed = true;
      return false;
    }
    const filter = mode.methods;
    if (filter !== undefined && !methods.some((m) => filter.includes(m))) return false;
    if (mode.times !== undefined && hits >= mode.times) return false;
    hits += 1;
    return true;
  }

  function handle(body: Buffer, req: IncomingMessage, res: ServerResponse): void {
    const methods = methodsOf(body);
    const active = applies(methods) ? mode : undefined;
    if (active?.kind === 'refuse') return void res.destroy();
    if (active?.kind === 'status-5xx') {
      res.writeHead(active.status ?? 503, { 'content-type': 'text/plain' }).end('injected fault');
      return;
    }
    const forward = httpRequest(
      target,
      {
        method: req.method,
        headers: {
          'content-type': req.headers['content-type'] ?? 'application/json',
          'content-length': String(body.length),
        },
      },
      (answer) => {
        for (const m of methods) counts.set(m, (counts.get(m) ?? 0) + 1);
        readBody(answer).then(
          (data) => {
            if (active?.kind === 'hang-after-forward') return hold(res, answer, data, active.holdMs);
            res
              .writeHead(answer.statusCode ?? 502, {
                'content-type': answer.headers['content-type'] ?? 'application/json',
              })
              .end(data);
          },
          () => res.destroy(),
        );
      },
    );
    forward.on('error', () => res.destroy());
    forward.end(body);
  }

  function hold(res: ServerResponse, answer: IncomingMessage, data: Buffer, holdMs: number | undefined): void {
    held.add(res);
    res.once('close', () => held.delete(res));
    if (holdMs === undefined) return;
    setTimeout(() => {
      held.delete(res);
      if (!res.destroyed) res.writeHead(answer.statusCode ?? 200, { 'content-type': 'application/json' }).end(data);
    }, holdMs).unref();
  }

  const port = await listen(server, 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async set(next) {
      const wasClosed = !server.listening;
      mode = next;
      armed = false;
      hits = 0;
      if (next.kind === 'refuse' && next.methods === undefined && next.after === undefined) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
      } else if (wasClosed) {
        await listen(server, port);
      }
    },
    retarget(next) {
      target = new URL(next);
    },
    forwarded: (method) => counts.get(method) ?? 0,
    async close() {
      for (const res of held) res.destroy();
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The JSON-RPC method names of a request body (one, or several for a batch). */
function methodsOf(body: Buffer): string[] {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const calls: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
    return calls.flatMap((c) =>
      typeof c === 'object' && c !== null && 'method' in c && typeof c.method === 'string' ? [c.method] : [],
    );
  } catch {
    return [];
  }
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Listens on 127.0.0.1:`port` (0 = a free one) and answers the bound port. */
export function listen(server: NetServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('fault proxy: no TCP port'));
      else resolve(address.port);
    });
  });
}
