import { NoAcceptableOfferError, BudgetExceededError, type OfferRejection } from '../core/errors';
import { negotiate, type Candidate, type Preference } from '../core/negotiate';
import type { SpendingPolicy } from '../core/policy';
import type { ClientRail, Wallet } from '../core/rail';
import { RECEIPT_EXTENSION_KEY, SignedReceiptSchema } from '../core/receipt/receipt';
import { verifyReceipt } from '../core/receipt/verifyReceipt';
import { decodePaymentResponseHeader, encodePaymentSignatureHeader, headerNames } from '../protocol/headers';
import type { SettleResponse } from '../protocol/schemas';
import { normalizeNetwork } from '../protocol/caip';
import { decodeV1PaymentResponseHeader, encodeV1PaymentHeader } from '../protocol/v1';
import { createBudgetLedger, type BudgetLedger, type Reservation } from './budgetLedger';
import { createCapabilityWallet, type CapabilityWallet } from './capabilityWallet';
import { createJwksCache, type JwksCache } from './jwksCache';
import { attachOutcome, type PaymentOutcome } from './paymentOutcome';
import { readChallenge, type ReadChallenge } from './readChallenge';
import { resendPayment, type ResendPolicy } from './resendPayment';
import { discardBody } from './discardBody';
import { receiptFromSettleResponse } from './settleResponseReceipt';

/** A Fetch-API compatible function. */
export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link payingFetch}. */
export type PayingFetchOptions = {
  /** Client rails this client can pay with. */
  adapters: ClientRail[];
  /** Wallets, matched to rails by `kind`. */
  wallets: Wallet[];
  /** Spending policy (allow/deny lists, per-request caps, budgets). */
  policy?: SpendingPolicy;
  /** Budget ledger; defaults to one built from `policy.budgets`. Share one across clients to share budgets. */
  ledger?: BudgetLedger;
  /** Client's rail preference; default: the server's order. */
  prefer?: Preference;
  /** Verify receipts against the issuer's published JWKS (default true). */
  verifyReceipts?: boolean;
  /**
   * Capability credentials (`X402-Capability`) bought with a payment are kept and presented before paying
   * again (default: a wallet of this client's own); `false` never presents one.
   */
  capabilities?: CapabilityWallet | false;
  /**
   * Re-send the same payment when its answer is lost (network error) or pending (503): the server settles it
   * once and answers the retry with the receipt. Default 4 sends with backoff from 500 ms; `false` sends once.
   */
  resend?: ResendPolicy | false;
  /** Clock, for tests. */
  now?: () => number;
};

/**
 * Wraps `fetch` so that a 402 is paid and retried once. On a 402 it negotiates a rail from the challenge
 * under the policy, reserves the amount in the budget, pays, retries, and returns the response with its
 * payment outcome (see `receiptOf`). Never patches `globalThis.fetch`. Throws NoAcceptableOfferError when
 * nothing may be paid (nothing is paid then).
 *
 * @example
 * const pay = payingFetch(fetch, { adapters: [evmExact()], wallets: [evmWallet(account)], policy });
 * const res = await pay('https://api.example.com/report');
 */
export function payingFetch(fetchImpl: FetchLike, options: PayingFetchOptions): FetchLike {
  const policy = options.policy ?? {};
  const ledger = options.ledger ?? createBudgetLedger(policy.budgets ?? []);
  const now = options.now ?? Date.now;
  const jwks: JwksCache = createJwksCache(fetchImpl);
  const capabilities = options.capabilities === false ? undefined : (options.capabilities ?? createCapabilityWallet());

  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const send = (headers?: Record<string, string>) => {
      const h = new Headers(request.headers);
      for (const [k, v] of Object.entries(headers ?? {})) h.set(k, v);
      return fetchImpl(request.url, { method: request.method, headers: h, body, redirect: request.redirect, signal: request.signal });
    };
    const first = capabilities ? await capabilities.send(request.url, request.method, send, now()) : await send();
    if (first.status !== 402) return first;
    const challenge = await readChallenge(first);
    if (!challenge) return first;
    const started = now();
    const origin = new URL(request.url).origin;
    const { candidates, rejections } = negotiate({
      offers: challenge.offers,
      rails: options.adapters,
      wallets: options.wallets,
      policy,
      origin,
      ...(options.prefer ? { prefer: options.prefer } : {}),
    });
    const { candidate, reservation } = await reserveFirst(candidates, rejections, ledger, origin, now(), request.url);
    discardBody(first);

    // Money may have moved once the payment left this process: from then on a lost answer keeps the budget spent.
    let paid = false;
    try {
      const resource = challenge.version === 2 ? challenge.paymentRequired.resource : { url: challenge.resourceUrl };
      const payload = await candidate.rail.createPayment(candidate.offer, candidate.wallet, { resource, x402Version: challenge.version, now: now() });
      paid = candidate.rail.paysOnCreate === true;
      const headers = paymentHeaders(challenge, candidate, payload, resource);
      const response = await resendPayment(
        () => {
          paid = true;
          return send(headers);
        },
        options.resend,
        request.signal,
      );
      const settleResponse = readSettleResponse(response, challenge.version);
      // A clear refusal (402, 400) means no money moved unless the rail pays on create.
      if (candidate.rail.paysOnCreate !== true && (response.status === 402 || response.status === 400) && !settleResponse?.success) await reservation.release();
      else await reservation.commit();
      const outcome: PaymentOutcome = {
        rail: candidate.rail.id,
        offer: candidate.offer,
        x402Version: challenge.version,
        elapsedMs: now() - started,
        ...(settleResponse ? { settleResponse } : {}),
      };
      if (settleResponse && options.verifyReceipts !== false) await attachReceipt(outcome, settleResponse, jwks, origin);
      if (settleResponse && settleResponse.extensions?.[RECEIPT_EXTENSION_KEY] === undefined) {
        // A plain x402 server: the same receipt format, built from what it settled and what we sent.
        const built = receiptFromSettleResponse({ rail: candidate.rail.id, offer: candidate.offer, settle: settleResponse, request: { method: request.method, url: request.url, body }, now: now() });
        if (built) Object.assign(outcome, { receipt: built, receiptSource: 'settle-response' });
      } else if (outcome.receipt) outcome.receiptSource = 'server';
      attachOutcome(response, outcome);
      capabilities?.keep(request.url, response);
      return response;
    } catch (error) {
      if (paid) await reservation.commit();
      else await reservation.release();
      throw error;
    }
  };
}

async function reserveFirst(
  candidates: Candidate[],
  rejections: OfferRejection[],
  ledger: BudgetLedger,
  origin: string,
  now: number,
  url: string,
): Promise<{ candidate: Candidate; reservation: Reservation }> {
  const all = [...rejections];
  for (const candidate of candidates) {
    try {
      const reservation = await ledger.reserve({ origin, network: candidate.offer.network, asset: candidate.offer.asset, amount: BigInt(candidate.offer.amount), now });
      return { candidate, reservation };
    } catch (error) {
      if (!(error instanceof BudgetExceededError)) throw error;
      const o = candidate.offer;
      all.push({ index: candidate.index, scheme: o.scheme, network: o.network, asset: o.asset, amount: o.amount, reason: 'budget_exceeded', message: error.message });
    }
  }
  throw new NoAcceptableOfferError(all.sort((a, b) => a.index - b.index), url);
}

function paymentHeaders(challenge: ReadChallenge, candidate: Candidate, payload: Record<string, unknown>, resource: { url: string }): Record<string, string> {
  if (challenge.version === 1) {
    const v1Offer = challenge.v1Offers[challenge.offers.indexOf(candidate.offer)];
    if (v1Offer) return { [headerNames.v1Payment]: encodeV1PaymentHeader(v1Offer, payload) };
  }
  return {
    [headerNames.paymentSignature]: encodePaymentSignatureHeader({
      x402Version: 2,
      resource: { url: resource.url },
      accepted: candidate.offer,
      payload,
    }),
  };
}

function readSettleResponse(response: Response, version: 1 | 2): SettleResponse | undefined {
  try {
    const v2 = response.headers.get(headerNames.paymentResponse);
    if (v2 !== null) return decodePaymentResponseHeader(v2);
    const v1 = response.headers.get(headerNames.v1PaymentResponse);
    if (v1 !== null && version === 1) {
      const r = decodeV1PaymentResponseHeader(v1);
      return { success: r.success, transaction: r.transaction, network: normalizeNetwork(r.network) ?? `x402v1:${r.network}`, ...(r.payer ? { payer: r.payer } : {}) };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

async function attachReceipt(outcome: PaymentOutcome, settle: SettleResponse, jwks: JwksCache, origin: string): Promise<void> {
  const signed = settle.extensions?.[RECEIPT_EXTENSION_KEY];
  if (signed === undefined) return;
  try {
    const keys = await jwks.get(origin);
    outcome.receipt = await verifyReceipt(signed, keys);
    outcome.signedReceipt = SignedReceiptSchema.parse(signed);
  } catch (error) {
    outcome.receiptError = error instanceof Error ? error : new Error(String(error));
  }
}
