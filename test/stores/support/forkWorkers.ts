import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./sqliteWorker.ts', import.meta.url));

/**
 * Forks `count` sqliteWorker processes with the same arguments, waits until all are ready, releases them at
 * once, and returns each one's report.
 */
export async function raceInProcesses<T>(count: number, args: string[]): Promise<T[]> {
  const children: ChildProcess[] = Array.from({ length: count }, () =>
    fork(WORKER, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  try {
    const reports = children.map(
      (child) =>
        new Promise<T>((resolve, reject) => {
          child.on('message', (message) => {
            if (message !== 'ready') resolve(message as T);
          });
          child.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
        }),
    );
    await Promise.all(
      children.map((child) => new Promise<void>((resolve) => child.on('message', (m) => m === 'ready' && resolve()))),
    );
    for (const child of children) child.send('go');
    return await Promise.all(reports);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
