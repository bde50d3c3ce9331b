import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redisServer';

/** A throwaway PostgreSQL cluster started for a test run. */
export type PostgresServer = { port: number; url: string; stop(): Promise<void> };

/** Where Debian's PostgreSQL server binaries are (`apt-get install postgresql`), or undefined. */
export function postgresBinDir(): string | undefined {
  const candidates = [
    process.env.POSTGRES_BIN_DIR,
    '/usr/lib/postgresql/17/bin',
    '/usr/lib/postgresql/16/bin',
    '/usr/lib/postgresql/15/bin',
  ];
  return candidates.find(
    (dir): dir is string => dir !== undefined && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
}

/** initdb and postgres refuse to run as root: run them as the `postgres` user then (uid/gid), else as ourselves. */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0)
    throw new Error('Running as root, and there is no `postgres` user to run the PostgreSQL server as.');
  return { uid, gid };
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts a PostgreSQL server for a test run: `initdb` in a fresh temp dir (trust auth, no fsync), `postgres` on a
 * free loopback port with its socket in that dir, as the `postgres` user when we are root. Waits until it accepts
 * connections; `stop()` shuts it down (fast) and deletes the dir. Throws when it cannot start.
 *
 * @example const server = await startPostgresServer(); const pool = new pg.Pool({ connectionString: server.url });
 */
export async function startPostgresServer(binDir = postgresBinDir()): Promise<PostgresServer> {
  if (!binDir)
    throw new Error(
      'PostgreSQL server binaries are not installed (apt-get install postgresql, or set POSTGRES_BIN_DIR).',
    );
  const user = unprivilegedUser();
  const dir = mkdtempSync(join(tmpdir(), 'x402-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(binDir, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { ...(user ?? {}), encoding: 'utf8' },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const settings = [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
      '-c',
      'listen_addresses=127.0.0.1',
    ];
    const child: ChildProcess = spawn(
      join(binDir, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, ...settings],
      { ...(user ?? {}), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let exited = false;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
    });
    child.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 20_000;
    while (!exited && Date.now() < deadline) {
      if (await accepts(url)) {
        return {
          port,
          url,
          stop: () =>
            new Promise<void>((resolve) => {
              const done = () => {
                rmSync(dir, { recursive: true, force: true });
                resolve();
              };
              if (exited) return done();
              child.once('exit', done);
              child.kill('SIGINT'); // fast shutdown: ends the sessions, no checkpoint wait
              setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
            }),
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    if (!exited) await new Promise((resolve) => child.once('exit', resolve));
    if (!stderr.includes('Address already in use')) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres did not start: ${stderr}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('postgres did not start after three ports.');
}
