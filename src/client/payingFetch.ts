import {
  NoAcceptableOfferError,
  BudgetExceededError,
  PaymentInvalidError,
  PaymentRefusedByServerError,
  type OfferRejection,
  type RefusedPaymentDetails,
} from '../core/errors';
import { negotiate, type Candidate, type Preference } from '../core/negotiate';
import type { SpendingPolicy } from '../core/policy';
import { splitPayloadExtensions, type ClientRail, type Wallet } from '../core/rail';
import { RECEIPT_EXTENSION_KEY } from '../core/receipt/receipt';
import { decodePaymentResponseHeader, encodePaymentSignatureHeader, headerNames } from '../protocol/headers';
import type { PaymentRequirements, SettleResponse } from '../protocol/schemas';
import { normalizeNetwork } from '../protocol/caip';
import { decodeV1PaymentResponseHeader, encodeV1PaymentHeader } from '../protocol/v1';
import { createBudgetLedger, type BudgetLedger, type Reservation } from './budgetLedger';
import { createCapabilityWallet, type CapabilityWallet } from './capabilityWallet';
import { createJwksCache, type JwksCache } from './jwksCache';
import { attachOutcome, type PaymentOutcome } from './paymentOutcome';
import { readChallenge, type ReadChallenge } from './readChallenge';
import { resendPayment, type ResendPolicy } from './resendPayment';
import { discardBody } from './discardBody';
import { meteringHeaders } from '../metering/meteringHeaders';
import { receiptFromSettleResponse } from './settleResponseReceipt';
import { checkServerReceipt, checkSettledOnChain, requestBinding, type PaidRequest } from './checkReceipt';
import { createOriginStrikes, type OriginStrikes } from './originStrikes';
import { paymentIdentifierFor } from '../extensions/paymentIdentifierWire';
import { mppCredentialHeaders, mppSettleResponse, offersByProtocol, readMppOffers, type MppOffer } from './mppOffers';

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
  /**
   * Check receipts (default true): a server's signed receipt against the origin's published JWKS and against
   * this request and offer; a receipt built from a plain server's SettleResponse on chain, when the rail can.
   */
  verifyReceipts?: boolean;
  /**
   * Origins that took a payment without serving it (any non-2xx, or no answer, to a paid request) get a strike;
   * at the limit they are not paid again (OriginSuspendedError) until `strikes.reset(origin)`. Default: a
   * registry of this client's own with a limit of 1. Pass your own to reset it or share it.
   */
  strikes?: OriginStrikes;
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
  /**
   * The party paid, for budgets, strikes, receipt issuer and JWKS (default: each request URL's origin). Set it when
   * the URL has no origin of its own, as an MCP tool call's `mcp://tool/<name>` (see `x402-rails/mcp`).
   */
  origin?: string;
  /**
   * Which protocol wins when a 402 offers the same payment in several (x402 PAYMENT-REQUIRED, MPP `WWW-Authenticate:
   * Payment`), most preferred first; a protocol left out is never paid. Default `['x402', 'mpp']`. Either way one
   * payment is made per request.
   */
  protocols?: readonly ('x402' | 'mpp')[];
  /** `Accept-Payment` sent with each request (MPP servers rank or drop their challenges by it), e.g. `'evm/charge, lightning/charge;q=0.5'`. */
  acceptPayment?: string;
  /** Clock, for tests. */
  now?: () => number;
};

/**
 * Wraps `fetch` so that a 402 is paid and retried once. On a 402 it negotiates a rail from the challenge
 * under the policy, reserves the amount in the budget, pays, retries, and returns the response with its
 * payment outcome (see `receiptOf`). Never patches `globalThis.fetch`. Throws NoAcceptableOfferError when
 * nothing may be paid (nothing is paid then).
 *
 * The budget counts every payment that left the wallet, whatever the server answers: a signed authorization
 * can be settled by whoever holds it while it is valid, so a refusal is no proof that no money moved. A paid
 * request answered with a non-2xx is returned with `outcome.refused` (PaymentRefusedByServerError) and strikes
 * the origin (see `strikes`); one that got no answer throws it.
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

  const strikes = options.strikes ?? createOriginStrikes();

  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const send = (headers?: Record<string, string>, signal: AbortSignal = request.signal) => {
      const h = new Headers(request.headers);
      for (const [k, v] of Object.entries(headers ?? {})) h.set(k, v);
      if (options.acceptPayment !== undefined && !h.has('Accept-Payment'))
        h.set('Accept-Payment', options.acceptPayment);
      return fetchImpl(request.url, { method: request.method, headers: h, body, redirect: request.redirect, signal });
    };
    const first = capabilities ? await capabilities.send(request.url, request.method, send, now()) : await send();
    if (first.status !== 402) return first;
    const protocols = options.protocols ?? ['x402', 'mpp'];
    const x402 = protocols.includes('x402') ? await readChallenge(first) : undefined;
    const mpp = protocols.includes('mpp') ? readMppOffers(first, options.adapters) : [];
    if (!x402 && mpp.length === 0) return first;
    // A 402 with MPP challenges only reads as an x402 challenge without offers (the MPP offers join below).
    const challenge: ReadChallenge = x402 ?? {
      version: 2,
      paymentRequired: { x402Version: 2, resource: { url: request.url }, accepts: [] },
      offers: [],
    };
    const mppOf = (offer: PaymentRequirements): MppOffer | undefined => mpp.find((m) => m.offer === offer);
    const offers = offersByProtocol(challenge.offers, mpp, protocols);
    const started = now();
    const origin = options.origin ?? new URL(request.url).origin;
    strikes.assertPayable(origin);
    const { candidates, rejections } = negotiate({
      offers,
      rails: options.adapters,
      wallets: options.wallets,
      policy,
      origin,
      ...(options.prefer ? { prefer: options.prefer } : {}),
    });
    const { candidate, reservation } = await reserveFirst(candidates, rejections, ledger, origin, now(), request.url);
    discardBody(first);
    const refusal = (status: number, reason: string | undefined): RefusedPaymentDetails => ({
      origin,
      url: request.url,
      status,
      rail: candidate.rail.id,
      network: candidate.offer.network,
      asset: candidate.offer.asset,
      amount: candidate.offer.amount,
      ...(reason ? { reason } : {}),
    });

    // From the moment the payment leaves this process (the credential is sent, or the rail paid on create) money
    // may move whatever the server answers, so the budget keeps it: only a payment never sent is released.
    let paid = false;
    let response: Response;
    try {
      const resource = challenge.version === 2 ? challenge.paymentRequired.resource : { url: challenge.resourceUrl };
      const declared = challenge.version === 2 ? challenge.paymentRequired.extensions : undefined;
      const ctx = {
        resource,
        x402Version: challenge.version,
        now: now(),
        ...(declared ? { extensions: declared } : {}),
      };
      const paidMpp = mppOf(candidate.offer);
      const headers = paidMpp
        ? await mppCredentialHeaders(paidMpp, candidate.wallet, ctx)
        : paymentHeaders(
            challenge,
            candidate,
            await candidate.rail.createPayment(candidate.offer, candidate.wallet, ctx),
            resource,
          );
      paid = candidate.rail.paysOnCreate === true;
      response = await resendPayment(
        (signal) => {
          paid = true;
          return send(headers, signal);
        },
        options.resend,
        request.signal,
      );
    } catch (error) {
      // A rail that pays on create and failed with anything but a definite refusal (an unreachable node mid-payment)
      // may have paid: the hold is kept. Only a payment that provably never left the wallet is released.
      const mayHavePaid = candidate.rail.paysOnCreate === true && !(error instanceof PaymentInvalidError);
      if (!paid && !mayHavePaid) {
        await reservation.release();
        throw error;
      }
      await reservation.commit();
      if (!paid || request.signal.aborted) throw error;
      strikes.strike(origin, { status: 0, reason: 'no_answer', at: now() });
      throw new PaymentRefusedByServerError(refusal(0, 'no_answer'), { cause: error });
    }
    await reservation.commit();
    const paidMpp = mppOf(candidate.offer);
    const settleResponse =
      readSettleResponse(response, challenge.version) ??
      (paidMpp ? mppSettleResponse(response, candidate.offer) : undefined);
    const outcome: PaymentOutcome = {
      rail: candidate.rail.id,
      offer: candidate.offer,
      x402Version: challenge.version,
      protocol: paidMpp ? 'mpp' : 'x402',
      elapsedMs: now() - started,
      ...(settleResponse ? { settleResponse } : {}),
    };
    if (!response.ok) {
      const pledged = response.status === 402 && response.headers.get(meteringHeaders.error) === 'metering_pledged';
      const reason = pledged ? 'metering_pledged' : (settleResponse?.errorReason ?? (await refusalReason(response)));
      // `metering_pledged`: the server still holds this payer's earlier authorization over the same permit nonce
      // (an authorize-max metering session), so at most one of the two can ever move money; meteredFetch settles
      // the earlier one and pays anew. No strike for it, but the budget keeps the payment all the same.
      if (!pledged) strikes.strike(origin, { status: response.status, ...(reason ? { reason } : {}), at: now() });
      outcome.refused = new PaymentRefusedByServerError(refusal(response.status, reason));
    }
    if (settleResponse) {
      const paidRequest: PaidRequest = {
        binding: requestBinding(request.method, request.url, body),
        offer: paidMpp?.receiptOffer ?? candidate.offer,
        origin,
      };
      await attachReceipt(
        outcome,
        settleResponse,
        paidRequest,
        options.verifyReceipts !== false ? { jwks, candidate } : undefined,
        now(),
      );
    }
    attachOutcome(response, outcome);
    capabilities?.keep(request.url, response);
    return response;
  };
}

/** The reason code a refusing server gave in a fresh challenge (`error`), when it gave one. */
async function refusalReason(response: Response): Promise<string | undefined> {
  if (response.status !== 402) return undefined;
  const again = await readChallenge(response.clone()).catch(() => undefined);
  const error = again?.version === 2 ? again.paymentRequired.error : undefined;
  return typeof error === 'string' ? error.slice(0, 128) : undefined;
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
      const reservation = await ledger.reserve({
        origin,
        network: candidate.offer.network,
        asset: candidate.offer.asset,
        amount: BigInt(candidate.offer.amount),
        now,
      });
      return { candidate, reservation };
    } catch (error) {
      if (!(error instanceof BudgetExceededError)) throw error;
      const o = candidate.offer;
      all.push({
        index: candidate.index,
        scheme: o.scheme,
        network: o.network,
        asset: o.asset,
        amount: o.amount,
        reason: 'budget_exceeded',
        message: error.message,
      });
    }
  }
  throw new NoAcceptableOfferError(
    all.sort((a, b) => a.index - b.index),
    url,
  );
}

function paymentHeaders(
  challenge: ReadChallenge,
  candidate: Candidate,
  payload: Record<string, unknown>,
  resource: { url: string },
): Record<string, string> {
  // payment-identifier: an id for this payment when the server declares the extension; resends carry the same one.
  const extensions = challenge.version === 2 ? paymentIdentifierFor(challenge.paymentRequired) : {};
  if (challenge.version === 1) {
    const v1Offer = challenge.v1Offers[challenge.offers.indexOf(candidate.offer)];
    if (v1Offer) return { [headerNames.v1Payment]: encodeV1PaymentHeader(v1Offer, payload) };
  }
  // A rail's payload may carry PaymentPayload extensions (a signed approval beside a Permit2 payment): sent at the top.
  const split = splitPayloadExtensions(payload);
  const allExtensions = { ...extensions, ...split.extensions };
  return {
    [headerNames.paymentSignature]: encodePaymentSignatureHeader({
      x402Version: 2,
      resource: { url: resource.url },
      accepted: candidate.offer,
      payload: split.payload,
      ...(Object.keys(allExtensions).length > 0 ? { extensions: allExtensions } : {}),
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
      return {
        success: r.success,
        transaction: r.transaction,
        network: normalizeNetwork(r.network) ?? `x402v1:${r.network}`,
        ...(r.payer ? { payer: r.payer } : {}),
      };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Attaches the receipt of a paid request: a server's signed receipt, checked against the origin's JWKS and bound to
 * this request and offer; or, from a plain x402 server, one built from its SettleResponse and checked on chain
 * when the rail can. A receipt that fails a check is reported as `receiptError`, never as `receipt`.
 */
async function attachReceipt(
  outcome: PaymentOutcome,
  settle: SettleResponse,
  paid: PaidRequest,
  verify: { jwks: JwksCache; candidate: Candidate } | undefined,
  now: number,
): Promise<void> {
  const signed = settle.extensions?.[RECEIPT_EXTENSION_KEY];
  try {
    if (signed !== undefined) {
      if (!verify) return;
      const checked = await checkServerReceipt(signed, await verify.jwks.get(paid.origin), paid);
      Object.assign(outcome, {
        receipt: checked.receipt,
        signedReceipt: checked.signed,
        receiptSource: 'server',
        receiptCheck: 'signature',
      });
      return;
    }
    // A plain x402 server: the same receipt format, built from what it settled and what we sent.
    const built = receiptFromSettleResponse({
      rail: outcome.rail,
      offer: paid.offer,
      settle,
      request: { method: paid.binding.method, url: paid.binding.url, bodyHash: paid.binding.bodyHash },
      now,
    });
    if (!built) return;
    outcome.receiptSource = 'settle-response';
    const receiptCheck = verify
      ? await checkSettledOnChain(verify.candidate.rail, verify.candidate.wallet, paid.offer, built.reference)
      : 'unchecked';
    Object.assign(outcome, { receipt: built, receiptCheck });
  } catch (error) {
    outcome.receiptError = error instanceof Error ? error : new Error(String(error));
  }
}
