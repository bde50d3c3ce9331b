/**
 * Runs the `x402-rails` CLI as a real child process, from source through the tsx loader, so the tests do not
 * depend on a prior build: `node --import tsx src/cli/index.ts …`, exactly what the bin runs once built.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cliArgs = ['--import', 'tsx', 'src/cli/index.ts'];

/** What a finished CLI run left behind. */
export type CliRun = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** Options of a CLI run: extra environment (merged over a copy of this process's, minus wallet settings) and stdin. */
export type CliOptions = { env?: Record<string, string | undefined>; input?: string };

function cliEnv(extra: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  // Wallet settings of the developer's shell must not leak into the tests.
  for (const name of Object.keys(env)) if (name.startsWith('X402_')) delete env[name];
  for (const [name, value] of Object.entries(extra))
    if (value === undefined) delete env[name];
    else env[name] = value;
  return env;
}

/** Spawns the CLI with `args`; the caller reads its streams and waits for it. */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [...cliArgs, ...args], {
    cwd: repoRoot,
    env: cliEnv(options.env),
    stdio: 'pipe',
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  return child;
}

/** Waits for a spawned CLI to exit, collecting everything it printed. */
export function finished(
  child: ChildProcessWithoutNullStreams,
  already: { stdout?: string; stderr?: string } = {},
): Promise<CliRun> {
  let stdout = already.stdout ?? '';
  let stderr = already.stderr ?? '';
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs the CLI to completion.
 *
 * @example const { code, stderr } = await runCli(['pay']); // code 2, "Missing <url>."
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return finished(spawnCli(args, options));
}

/** A long-running CLI command (`devnet up`, `demo --serve`, `facilitator`) started in the background. */
export type RunningCli<T> = {
  /** The first JSON document it printed on stdout (its `--json` description). */
  ready: T;
  /** Everything on stderr so far. */
  stderr(): string;
  pid: number;
  /** Sends `signal` (default SIGTERM) and resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<CliRun>;
};

/**
 * Starts a long-running command with `--json` and resolves once its first stdout line (a JSON document) is out.
 * Rejects with its stderr if it exits first.
 *
 * @example const devnets = await startCli<{ evm: { rpcUrl: string } }>(['devnet', 'up', '--json']);
 */
export function startCli<T>(args: string[], options: CliOptions = {}): Promise<RunningCli<T>> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  const onErr = (chunk: string) => (stderr += chunk);
  child.stderr.on('data', onErr);
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`x402-rails ${args.join(' ')} exited (${code}) before it was ready:\n${stderr}`));
    child.once('exit', onExit);
    const onOut = (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline === -1) return;
      child.stdout.off('data', onOut);
      child.off('exit', onExit);
      let ready: T;
      try {
        ready = JSON.parse(stdout.slice(0, newline)) as T;
      } catch (error) {
        child.kill('SIGKILL');
        reject(error);
        return;
      }
      const done = new Promise<CliRun>((resolveDone) => {
        child.stdout.on('data', (more: string) => (stdout += more));
        child.once('close', (code, signal) => resolveDone({ code, signal, stdout, stderr }));
      });
      resolve({
        ready,
        pid: child.pid ?? -1,
        stderr: () => stderr,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return done;
        },
      });
    };
    child.stdout.on('data', onOut);
  });
}

/** Parses the single JSON document a `--json` run printed on stdout. */
export function jsonOf<T>(run: CliRun): T {
  return JSON.parse(run.stdout) as T;
}
