import { z } from 'zod';
import { peekCapabilityClaims } from '../capabilities/peekCapabilityClaims';
import { ReceiptInvalidError } from '../core/errors';
import { SignedReceiptSchema, type SignedReceipt } from '../core/receipt/receipt';
import { verifyReceipt } from '../core/receipt/verifyReceipt';
import { meteringHeaders } from '../metering/meteringHeaders';
import { decodeMeteringReceipt } from '../metering/meteringReceipt';
import { compileRouteKey, matchRoute } from '../core/routeMatch';
import { createJwksCache } from './jwksCache';
import type { FetchLike } from './payingFetch';

/** A metering session a client holds. */
export type HeldSession = {
  /** Session id (the deposit receipt's id). */
  id: string;
  token: string;
  /** Rail the deposit was paid on. */
  rail: string;
  /** Where and how the deposit was paid; a close is sent the same way. */
  url: string;
  method: string;
  /** The latest receipt the server issued for it (running total, remaining), verified unless `verifyReceipts: false`. */
  lastReceipt?: SignedReceipt;
  /** Why the latest receipt the server sent did not verify (it is then not taken as `lastReceipt`). */
  receiptError?: Error;
  /** True once a newer session replaced it (it ran out) or it was closed. */
  retired: boolean;
  routes: Array<ReturnType<typeof compileRouteKey>>;
};

/** The server's answer to a close. */
export type ClosedSession = {
  session: string;
  receipt: SignedReceipt;
  refund: { status: string; amount: string; reference?: string };
  /** A session opened by an authorization (EIP-2612 permit): the one transfer of its total, `reference` its transaction. */
  settlement?: { status: string; amount: string; reference?: string };
};

const ClosedSessionSchema = z.object({
  session: z.string(),
  receipt: SignedReceiptSchema,
  refund: z.object({ status: z.string(), amount: z.string(), reference: z.string().optional() }),
  settlement: z.object({ status: z.string(), amount: z.string(), reference: z.string().optional() }).optional(),
});

/** Options of {@link meteredFetch}. */
export type MeteredFetchOptions = {
  /** The paying fetch (`payingFetch(...)`) that pays deposits. */
  pay: FetchLike;
  /** A plain fetch for closes (a close must never pay). */
  fetch: FetchLike;
  /** Creates the refund destination a rail needs from the client (Lightning: an invoice for exactly `amount` msat). */
  refundDestination?: (request: { rail: string; amount: bigint; session: string }) => Promise<string>;
  /**
   * Verify every metering receipt against the issuer's JWKS (fetched from its well-known path through `fetch`)
   * and the request it answers; a final receipt that does not verify fails the close (default true).
   */
  verifyReceipts?: boolean;
};

/** A fetch that uses metering sessions, and closes them. */
export type MeteredFetch = FetchLike & {
  /** Sessions held for an origin (open and retired but not yet closed). */
  sessions(origin: string): readonly HeldSession[];
  /**
   * Closes every session held for `origin` (the server refunds the unused balance; on Lightning the client
   * supplies an invoice through `refundDestination`) and answers each final receipt.
   */
  close(origin: string): Promise<ClosedSession[]>;
};

/**
 * Metered usage, client side: keeps the session a deposit bought (`X402-Metering-Session`) per origin and
 * presents it on later requests the session covers, so they are drawn from the deposit instead of paid. When
 * the server refuses it (spent, expired), the paying fetch pays a new deposit under its policy, and the old
 * session is kept for `close`, which gets the unused balance refunded.
 *
 * @example
 * const metered = meteredFetch({ pay: payingFetch(fetch, { adapters, wallets }), fetch });
 * await metered('https://api.example.com/llm', { method: 'POST', body });
 * const [closed] = await metered.close('https://api.example.com'); // closed.refund.amount
 */
export function meteredFetch(options: MeteredFetchOptions): MeteredFetch {
  const byOrigin = new Map<string, HeldSession[]>();
  const verify = options.verifyReceipts ?? true;
  const jwks = createJwksCache((url) => options.fetch(url));

  /** The receipt verified against its issuer's JWKS (and the request, when given); throws ReceiptInvalidError. */
  async function checked(
    receipt: SignedReceipt,
    origin: string,
    request?: { method: string; url: string },
  ): Promise<SignedReceipt> {
    if (!verify) return receipt;
    await verifyReceipt(receipt, await jwks.get(origin), { ...(request ? { request } : {}), issuer: origin });
    return receipt;
  }

  function current(url: URL, method: string): HeldSession | undefined {
    return byOrigin
      .get(url.origin)
      ?.find((s) => !s.retired && matchRoute(s.routes, method, url.pathname) !== undefined);
  }

  async function keep(request: Request, response: Response, presented: HeldSession | undefined): Promise<void> {
    const token = response.headers.get(meteringHeaders.session);
    const receipt = decodeMeteringReceipt(response.headers.get(meteringHeaders.receipt));
    const origin = new URL(request.url).origin;
    const held = byOrigin.get(origin) ?? [];
    if (token !== null && !held.some((s) => s.token === token)) {
      const claims = peekCapabilityClaims(token);
      if (claims) {
        if (presented) presented.retired = true;
        let routes: HeldSession['routes'] = [];
        try {
          routes = claims.scope.routes.map(compileRouteKey);
        } catch {
          routes = [];
        }
        held.push({
          id: claims.jti,
          token,
          rail: claims.rail,
          url: request.url,
          method: request.method,
          retired: false,
          routes,
        });
        byOrigin.set(origin, held);
      }
    }
    const target = held.find((s) => s.id === receipt?.metering?.session);
    if (!target || !receipt) return;
    try {
      target.lastReceipt = await checked(receipt, origin, { method: request.method, url: request.url });
      delete target.receiptError;
    } catch (error) {
      target.receiptError = error instanceof Error ? error : new Error(String(error));
    }
  }

  async function closeOne(session: HeldSession, refundTo?: string): Promise<ClosedSession> {
    const headers: Record<string, string> = { [meteringHeaders.session]: session.token, [meteringHeaders.close]: '1' };
    if (refundTo !== undefined) headers[meteringHeaders.refundTo] = refundTo;
    const response = await options.fetch(session.url, { method: session.method, headers });
    if (response.status !== 200)
      throw new Error(
        `Closing metering session ${session.id} answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
      );
    const closed = ClosedSessionSchema.parse(await response.json());
    await checked(closed.receipt, new URL(session.url).origin);
    if (closed.receipt.metering?.session !== session.id || closed.receipt.metering.final !== true) {
      throw new ReceiptInvalidError(`The close of metering session ${session.id} did not answer its final receipt.`);
    }
    return closed;
  }

  const fetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const presented = current(new URL(request.url), request.method);
    const headers = new Headers(request.headers);
    if (presented) headers.set(meteringHeaders.session, presented.token);
    // Kept for one retry: a new authorization (EIP-2612 permit) over the nonce the presented session still holds is refused.
    const again = presented ? request.clone() : undefined;
    const response = await options.pay(new Request(request, { headers }));
    await keep(request, response, presented);
    if (
      presented &&
      again &&
      response.status === 402 &&
      response.headers.get(meteringHeaders.error) === 'metering_pledged'
    ) {
      // "Authorize max, settle actual": settle the spent session first (its permit nonce is then used), then authorize anew.
      await response.body?.cancel();
      await closeOne(presented);
      forget(new URL(request.url).origin, presented);
      const retried = await options.pay(again);
      await keep(again, retried, undefined);
      return retried;
    }
    return response;
  };

  function forget(origin: string, session: HeldSession): void {
    session.retired = true;
    byOrigin.set(
      origin,
      (byOrigin.get(origin) ?? []).filter((s) => s !== session),
    );
  }

  return Object.assign(fetch, {
    sessions: (origin: string) => byOrigin.get(origin) ?? [],
    async close(origin: string): Promise<ClosedSession[]> {
      const closed: ClosedSession[] = [];
      for (const session of [...(byOrigin.get(origin) ?? [])]) {
        let answer = await closeOne(session);
        if (answer.refund.status === 'awaiting_destination' && options.refundDestination) {
          const destination = await options.refundDestination({
            rail: session.rail,
            amount: BigInt(answer.refund.amount),
            session: session.id,
          });
          answer = await closeOne(session, destination);
        }
        forget(origin, session);
        closed.push(answer);
      }
      return closed;
    },
  });
}
