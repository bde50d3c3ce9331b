import { discardBody } from './discardBody';

/**
 * How `payingFetch` re-sends a payment whose answer was lost (connection reset, server restarted) or left
 * pending (503 with Retry-After, e.g. `settlement_pending`). Re-sending the same signed payment is safe: the
 * server settles a payment at most once and answers a retry of the same request with the receipt on record.
 * The route's handler may run again on a retry, so the service is at least once; the charge is exactly once.
 */
export type ResendPolicy = {
  /** Sends in all, the first included (default 4). */
  attempts?: number;
  /** Wait before the first re-send, doubled each time (default 500 ms). */
  delayMs?: number;
  /** Longest wait, also the cap on a server's Retry-After (default 5,000 ms). */
  maxDelayMs?: number;
  /**
   * Gives up on one send after this long and re-sends the same payment (default: no limit). The server settles it
   * once; with `payment-identifier` it answers the re-send with the first answer (same payment id).
   */
  attemptTimeoutMs?: number;
};

const DEFAULTS = { attempts: 4, delayMs: 500, maxDelayMs: 5_000 } as const;

/**
 * Sends a paid request, re-sending the same payment on a network error or a 503 until `attempts` are used.
 * Answers the last response; throws the last network error when no send got an answer. `false` sends once.
 *
 * @example const res = await resendPayment(() => fetch(url, { headers: paid }), { attempts: 5 }, signal);
 */
export async function resendPayment(
  send: (signal?: AbortSignal) => Promise<Response>,
  policy: ResendPolicy | false | undefined,
  signal?: AbortSignal | null,
): Promise<Response> {
  const { attempts, delayMs, maxDelayMs, attemptTimeoutMs } =
    policy === false ? { ...DEFAULTS, attempts: 1, attemptTimeoutMs: undefined } : { ...DEFAULTS, ...policy };
  let wait = delayMs;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= attempts;
    let response: Response;
    try {
      if (attemptTimeoutMs === undefined) response = await send();
      else {
        const timeout = AbortSignal.timeout(attemptTimeoutMs);
        response = await send(signal ? AbortSignal.any([signal, timeout]) : timeout);
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (last || (error instanceof Error && error.name === 'AbortError')) throw error;
      await sleep(Math.min(wait, maxDelayMs), signal);
      wait *= 2;
      continue;
    }
    if (response.status !== 503 || last) return response;
    const retryAfter = retryAfterMs(response.headers.get('Retry-After'));
    discardBody(response);
    await sleep(Math.min(retryAfter ?? wait, maxDelayMs), signal);
    wait *= 2;
  }
}

/** Retry-After in seconds (or an HTTP date) as milliseconds; undefined when absent or unreadable. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
