/** Default wait for one call to the node before it counts as unreachable (ln-service sets no gRPC deadline). */
export const DEFAULT_NODE_TIMEOUT_MS = 10_000;

/**
 * Settles like `call`, or rejects after `timeoutMs` when the node has not answered: a hung node (or a lost
 * answer) must end in a 503, not in a request that waits forever. The call itself is left to finish.
 *
 * @example const invoice = await withinNodeTimeout(getInvoice({ lnd, id }), 10_000, 'LookupInvoice');
 */
export function withinNodeTimeout<T>(call: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`The Lightning node did not answer ${what} within ${timeoutMs} ms.`)),
      timeoutMs,
    );
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}
