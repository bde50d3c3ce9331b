/**
 * Keeps a long-running command (devnets, demo server, facilitator) alive until Ctrl-C (SIGINT) or SIGTERM,
 * then runs its cleanup once. A second signal while cleaning up exits at once.
 */
import { progress } from './output';

/** A shutdown latch installed before a long start, so a Ctrl-C during the start is not lost. */
export type ShutdownLatch = {
  /** True once a signal arrived. */
  readonly requested: boolean;
  /** Resolves with the signal's name when SIGINT or SIGTERM arrives; holds the event loop open until then. */
  wait(): Promise<NodeJS.Signals>;
  /** Removes the signal handlers. */
  dispose(): void;
};

/**
 * Installs SIGINT/SIGTERM handlers. Call before starting anything, `await latch.wait()` after, then stop.
 *
 * @example
 * const latch = shutdownLatch();
 * const devnets = await startDevnets();
 * await latch.wait();
 * await devnets.stop();
 */
export function shutdownLatch(): ShutdownLatch {
  let received: NodeJS.Signals | undefined;
  let resolveWait: ((signal: NodeJS.Signals) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received !== undefined) {
      process.stderr.write(`Received ${signal} again; exiting without waiting for cleanup.\n`);
      process.exit(130);
    }
    received = signal;
    resolveWait?.(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get requested() {
      return received !== undefined;
    },
    wait() {
      if (received !== undefined) return Promise.resolve(received);
      // A ref'd timer keeps the process alive even when every server and child process is unref'd.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      return new Promise<NodeJS.Signals>((resolve) => {
        resolveWait = (signal) => {
          clearInterval(keepAlive);
          resolve(signal);
        };
      });
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Runs a long-lived service until SIGINT/SIGTERM: installs the latch first (a Ctrl-C during a slow start is
 * kept), starts it, lets `announce` print what is running, waits for a signal, stops it, and resolves 0.
 * If the start fails, the error propagates and nothing is left running (`start` cleans up after itself).
 *
 * @example
 * return runUntilSignal('the devnets', () => startDevnets(), (devnets) => printJson(describeDevnets(devnets)));
 */
export async function runUntilSignal<T extends { stop(): Promise<void> }>(
  what: string,
  start: () => Promise<T>,
  announce: (running: T) => void,
): Promise<number> {
  const latch = shutdownLatch();
  try {
    const running = await start();
    try {
      announce(running);
      if (!latch.requested) progress('Running. Press Ctrl-C to stop.');
      const signal = await latch.wait();
      progress(`${signal}: stopping ${what}…`);
    } finally {
      await running.stop();
    }
    progress('Stopped.');
    return 0;
  } finally {
    latch.dispose();
  }
}
