/**
 * Starts load-test server processes (support/server.ts under tsx) through the shared helper
 * (test/support/serverProcesses.ts) and reads their counters.
 */
import { fileURLToPath } from 'node:url';
import { forkServers } from '../../support/serverProcesses';
import type { LoadServerConfig, LoadServerMessage, LoadServerStats } from './server';

export { getPinned, type RawAnswer } from '../../support/serverProcesses';

const SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));

/** A running load-test server process. */
export type ServerProcess = { url: string; pid: number; stats(): Promise<LoadServerStats>; stop(): Promise<void> };

/** Forks one server process per config and waits until each listens. */
export async function startServerProcesses(configs: LoadServerConfig[]): Promise<ServerProcess[]> {
  const servers = await forkServers<LoadServerMessage>(SCRIPT, 'X402_LOAD_SERVER', configs);
  return servers.map((server) => ({
    url: server.url,
    pid: server.pid,
    stats: () => server.ask('stats', 'stats'),
    stop: () => server.stop(),
  }));
}
