import type { AuthenticatedLnd } from 'ln-service';
import type { FetchLike } from '../../src/index';
import { formatL402Authorization, parseL402Challenge } from '../../src/protocol/l402';
import { payInvoice } from './payInvoice';

/** Options of {@link l402Fetch}. */
export type L402FetchOptions = {
  /** The payer's node. */
  lnd: AuthenticatedLnd;
  /** Most routing fee per payment, msat (default: 1% of the amount, at least 1,000 msat). */
  maxFeeMsat?: bigint;
  /** Most paid for one invoice, msat (default 10,000,000 msat = 10,000 sat). */
  maxAmountMsat?: bigint;
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
 * fails. Never patches `globalThis.fetch`.
 *
 * @example
 * const get = l402Fetch(fetch, { lnd, maxFeeMsat: 1_000n });
 * const res = await get('https://api.example/report');
 */
export function l402Fetch(fetchImpl: FetchLike, options: L402FetchOptions): FetchLike {
  const tokens = new Map<string, Token>();
  const now = options.now ?? Date.now;
  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const url = new URL(request.url);
    const key = `${url.origin}${url.pathname}`;
    const send = (token: Token | undefined) => {
      const headers = new Headers(request.headers);
      if (token) headers.set('Authorization', formatL402Authorization({ macaroons: [token.macaroon], preimage: token.preimage }));
      return fetchImpl(request.url, { method: request.method, headers, body, redirect: request.redirect, signal: request.signal });
    };
    const kept = tokens.get(key);
    const first = await send(kept);
    if (first.status !== 402) return first;
    const challenge = parseL402Challenge(first.headers.get('WWW-Authenticate') ?? '');
    if (!challenge) return first;
    await first.body?.cancel();
    if (kept) tokens.delete(key);
    const { preimage } = await payInvoice({
      lnd: options.lnd,
      invoice: challenge.invoice,
      ...(options.maxFeeMsat === undefined ? {} : { maxFeeMsat: options.maxFeeMsat }),
      maxAmountMsat: options.maxAmountMsat ?? 10_000_000n,
      now: now(),
    });
    const token = { macaroon: challenge.macaroon, preimage };
    const response = await send(token);
    if (response.status < 400) tokens.set(key, token);
    return response;
  };
}

