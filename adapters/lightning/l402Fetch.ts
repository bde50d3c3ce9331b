import type { AuthenticatedLnd } from 'ln-service';
import { DEFAULT_MAX_PER_REQUEST, createOriginStrikes, type FetchLike, type OriginStrikes } from '../../src/index';
import { formatL402Authorization, parseL402Challenge } from '../../src/protocol/l402';
import { payInvoice } from './payInvoice';

/** Options of {@link l402Fetch}. */
export type L402FetchOptions = {
  /** The payer's node. */
  lnd: AuthenticatedLnd;
  /** Most routing fee per payment, msat (default: 1% of the amount, at least 1,000 msat). */
  maxFeeMsat?: bigint;
  /** Most paid for one invoice, msat (default 1,000,000 msat = 1,000 sat, the same default cap as payingFetch). */
  maxAmountMsat?: bigint;
  /**
   * Origins that took a payment without serving (a non-2xx, or no answer, to the paid retry) get a strike; at
   * the limit their invoices are not paid (OriginSuspendedError) until `strikes.reset(origin)`. Default: a
   * registry of this client's own, limit 1.
   */
  strikes?: OriginStrikes;
  /** Clock, for tests. */
  now?: () => number;
};

/** A paid L402 token, kept per origin and path. */
type Token = { macaroon: string; preimage: string };

/**
 * A plain L402 client (no x402): on a 402 with `WWW-Authenticate: L402 macaroon="…", invoice="…"` (or LSAT)
 * it pays the invoice with ln-service, then retries with `Authorization: L402 <macaroon>:<preimage>`. Paid
 * tokens are kept per origin + path and presented first next time, so a route is paid once while its token
 * lasts. Throws PaymentInvalidError (nothing paid) when the invoice is over `maxAmountMsat` or the payment
 * fails. An origin that takes a paid invoice without serving is not paid again (see `strikes`). Never patches
 * `globalThis.fetch`.
 *
 * @example
 * const get = l402Fetch(fetch, { lnd, maxFeeMsat: 1_000n });
 * const res = await get('https://api.example/report');
 */
export function l402Fetch(fetchImpl: FetchLike, options: L402FetchOptions): FetchLike {
  const tokens = new Map<string, Token>();
  const now = options.now ?? Date.now;
  const strikes = options.strikes ?? createOriginStrikes();
  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const url = new URL(request.url);
    const key = `${url.origin}${url.pathname}`;
    const send = (token: Token | undefined) => {
      const headers = new Headers(request.headers);
      if (token)
        headers.set(
          'Authorization',
          formatL402Authorization({ macaroons: [token.macaroon], preimage: token.preimage }),
        );
      return fetchImpl(request.url, {
        method: request.method,
        headers,
        body,
        redirect: request.redirect,
        signal: request.signal,
      });
    };
    const kept = tokens.get(key);
    const first = await send(kept);
    if (first.status !== 402) return first;
    const challenge = parseL402Challenge(first.headers.get('WWW-Authenticate') ?? '');
    if (!challenge) return first;
    await first.body?.cancel();
    if (kept) tokens.delete(key);
    strikes.assertPayable(url.origin);
    const { preimage } = await payInvoice({
      lnd: options.lnd,
      invoice: challenge.invoice,
      ...(options.maxFeeMsat === undefined ? {} : { maxFeeMsat: options.maxFeeMsat }),
      maxAmountMsat: options.maxAmountMsat ?? DEFAULT_MAX_PER_REQUEST,
      now: now(),
    });
    // The invoice is paid: from here on an answer other than 2xx is a payment taken without serving.
    const token = { macaroon: challenge.macaroon, preimage };
    let response: Response;
    try {
      response = await send(token);
    } catch (error) {
      strikes.strike(url.origin, { status: 0, reason: 'no_answer', at: now() });
      throw error;
    }
    if (response.ok) tokens.set(key, token);
    else strikes.strike(url.origin, { status: response.status, at: now() });
    return response;
  };
}
