import { RailUnavailableError } from '../../src/index';
import { SOLANA_RAIL_ID } from './constants';

/** Default wait for one RPC call (a web3.js `Connection` sets none of its own). */
export const DEFAULT_RPC_TIMEOUT_MS = 10_000;

/** What {@link answerWithin} resolves to when the call has not answered in time. */
export const NO_ANSWER: unique symbol = Symbol('no answer');

/**
 * `call`'s outcome, or {@link NO_ANSWER} when it has not settled within `timeoutMs`. The call is left to
 * finish; a late failure is ignored.
 *
 * @example const sent = await answerWithin(connection.sendRawTransaction(bytes), 10_000);
 */
export function answerWithin<T>(call: Promise<T>, timeoutMs: number): Promise<T | typeof NO_ANSWER> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof NO_ANSWER>((resolve) => {
    timer = setTimeout(() => resolve(NO_ANSWER), timeoutMs);
  });
  call.catch(() => undefined);
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}

/**
 * `call`'s outcome, or RailUnavailableError (503) when the RPC has not answered within `timeoutMs`: a hung
 * node must end in a clear answer, not a request that waits as long as the socket lets it.
 *
 * @example const status = await withinRpcTimeout(connection.getSignatureStatuses([sig]), 10_000, 'the signature status');
 */
export async function withinRpcTimeout<T>(call: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const answer = await answerWithin(call, timeoutMs);
  if (answer === NO_ANSWER)
    throw new RailUnavailableError(`The Solana RPC did not answer ${what} within ${timeoutMs} ms. Try again shortly.`, {
      rail: SOLANA_RAIL_ID,
    });
  return answer;
}
