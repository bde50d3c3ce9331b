/**
 * Runs tasks one at a time per key within this process (other keys run in parallel).
 *
 * @example
 * const lock = keyedLock();
 * await lock('evm-eip3009:31337:0xabc…', () => reconcile());
 */
export function keyedLock(): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
