/**
 * Runs a file of examples/ as its README says to (`npx tsx examples/<file>`): a child process through the tsx
 * loader, which resolves the package's own import names (`x402-rails/evm`, …) to the sources by tsconfig `paths`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A running example server. */
export type ExampleServer = { url: string; stop(): Promise<void>; output(): string };

/** A port free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function start(file: string, args: string[], env: Record<string, string>): ChildProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('X402_')));
  return spawn(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
    cwd: repoRoot,
    env: { ...clean, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts a server example on a free port and resolves once it printed `listening on <url>`. */
export async function startExample(file: string, env: Record<string, string>): Promise<ExampleServer> {
  const port = await freePort();
  const child = start(file, [], { ...env, PORT: String(port) });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${file} did not start in 90 s:\n${output}`));
    }, 90_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs a one-shot example to its end; resolves with its stdout, rejects with its stderr when it fails. */
export async function runExample(file: string, args: string[], env: Record<string, string>): Promise<string> {
  const child = start(file, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${file} exited ${code}:\n${stderr}`);
  return stdout;
}
