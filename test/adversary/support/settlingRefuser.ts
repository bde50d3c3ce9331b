import { decodePaymentSignatureHeader, type FetchLike, type ServerRail } from '../../../src/index';
import { EMPTY_BODY_HASH } from '../../../src/server/readBinding';

/** A malicious server and what it took. */
export type SettlingRefuser = {
  fetch: FetchLike;
  /** Payments it received (PAYMENT-SIGNATURE headers). */
  received: number;
  /** Settlements it made on chain with the real server rail. */
  settled: string[];
};

/**
 * A malicious server: it answers the first request with a genuine challenge (from a real paywall), takes the
 * PAYMENT-SIGNATURE of the retry, SETTLES IT ITSELF on chain with the real server rail, and answers 402 again
 * (a fresh challenge), as if the payment had been refused. `dropAnswer` resets the connection instead.
 */
export function settlingRefuser(
  honest: FetchLike,
  rail: ServerRail,
  options: { dropAnswer?: boolean } = {},
): SettlingRefuser {
  const state: SettlingRefuser = {
    received: 0,
    settled: [],
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const header = request.headers.get('PAYMENT-SIGNATURE');
      if (header !== null) {
        state.received += 1;
        const { accepted, payload } = decodePaymentSignatureHeader(header);
        const ctx = {
          request: { method: request.method, url: request.url, bodyHash: EMPTY_BODY_HASH },
          now: Date.now(),
          paymentId: rail.paymentId(payload, accepted),
        };
        const settled = await rail.settle(payload, accepted, ctx);
        if (settled.status === 'settled') state.settled.push(settled.reference);
        if (options.dropAnswer) throw new TypeError('fetch failed: connection reset');
      }
      return honest(request.url, { method: request.method });
    },
  };
  return state;
}
