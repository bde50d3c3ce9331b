import { sha256Base64Url } from '../core/canonical';
import type { PriceOffer, RailPayload } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import { createReceiptSigner } from '../core/receipt/signer';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader, headerNames } from '../protocol/headers';
import type { PaymentRequirements } from '../protocol/schemas';
import type { FetchLike } from '../client/payingFetch';
import { splitPayloadExtensions } from '../core/rail';
import { reportCharge } from '../server/reportCharge';
import { paywall, type Paywall } from '../server/paywall';
import { check } from './conformanceFailure';
import { drain } from './expectations';
import type { ConformanceBalances, ConformanceHookKit, ConformancePayOptions, RailConformanceSetup } from './setup';

/** Origin of the kit's in-process server. */
export const CONFORMANCE_ORIGIN = 'http://conformance.test';
/** The kit's paid route. */
export const PAID_PATH = '/conformance/paid';
/** A second paid route with the same price, for cross-route replays. */
export const OTHER_PATH = '/conformance/other';
/** Request header that makes the kit's handler answer 500. */
export const FAIL_HEADER = 'X-Conformance-Fail';

/** The kit's server and helpers, shared by every scenario of one run. */
export type ConformanceContext = {
  setup: RailConformanceSetup;
  offer: PriceOffer;
  price: bigint;
  /** What a paid request moves: the setup's `charge` (upto), else the price. */
  charged: bigint;
  pw: Paywall;
  /** In-process fetch into the paywall. */
  fetch: FetchLike;
  /** Receipts the paywall settled, in order (from its `settled` events). */
  settled: SignedReceipt[];
  /** True when the client rail moves money while creating the payment. */
  paysOnCreate: boolean;
  url(path: string): string;
  /** A fresh JSON body, so every request is distinct. */
  nextBody(label: string): string;
  bodyHash(body: string): string;
  /** POSTs `body` unpaid to `path`, expects a 402 and returns its first offer. */
  challenge(path: string, body: string): Promise<PaymentRequirements>;
  /** Creates a payment with the setup's client rail. */
  pay(offer: PaymentRequirements, options?: ConformancePayOptions): Promise<RailPayload>;
  /** POSTs `body` to `path` with PAYMENT-SIGNATURE echoing `accepted` and carrying `payload`. */
  send(
    path: string,
    body: string,
    accepted: PaymentRequirements,
    payload: RailPayload,
    headers?: Record<string, string>,
  ): Promise<Response>;
  hookKit(path: string): ConformanceHookKit;
  balances(): Promise<ConformanceBalances>;
};

/**
 * Builds the kit's paywall over the setup's server rail: `POST /conformance/paid` and `POST /conformance/other`
 * at the setup's price, a handler that echoes the request (or answers 500 when {@link FAIL_HEADER} is set),
 * served in-process.
 */
export async function createConformanceContext(setup: RailConformanceSetup): Promise<ConformanceContext> {
  const offer: PriceOffer = { ...setup.offer, rail: setup.offer.rail ?? setup.server.id };
  const settled: SignedReceipt[] = [];
  const pw = paywall(
    {
      [`POST ${PAID_PATH}`]: { accepts: [offer], description: 'conformance: paid route' },
      [`POST ${OTHER_PATH}`]: { accepts: [offer], description: 'conformance: other route' },
    },
    {
      rails: [setup.server],
      signer: await createReceiptSigner(),
      issuer: CONFORMANCE_ORIGIN,
      onEvent: (event) => {
        if (event.type === 'settled') settled.push(event.receipt);
      },
    },
  );
  const handler = pw.wrap(async (request) => {
    if (request.headers.get(FAIL_HEADER) !== null) return new Response('handler failed on purpose', { status: 500 });
    if (setup.charge !== undefined) reportCharge(request, setup.charge);
    return Response.json({ ok: true, path: new URL(request.url).pathname, body: await request.text() });
  });
  const fetch: FetchLike = async (input, init) => handler(new Request(input, init));
  let counter = 0;
  // The PaymentRequired extensions of the last 402 (e.g. `eip2612GasSponsoring`): client rails read them to pay.
  let declared: Record<string, unknown> | undefined;
  const url = (path: string) => `${CONFORMANCE_ORIGIN}${path}`;
  const pay = (req: PaymentRequirements, options: ConformancePayOptions = {}) =>
    setup.client.createPayment(req, options.wallet ?? setup.wallet, {
      resource: { url: CONFORMANCE_ORIGIN },
      x402Version: 2,
      now: options.now ?? Date.now(),
      ...(declared ? { extensions: declared } : {}),
    });

  const context: ConformanceContext = {
    setup,
    offer,
    price: BigInt(offer.amount),
    charged: setup.charge ?? BigInt(offer.amount),
    pw,
    fetch,
    settled,
    paysOnCreate: setup.client.paysOnCreate === true,
    url,
    nextBody: (label) => JSON.stringify({ conformance: label, n: ++counter }),
    bodyHash: (body) => sha256Base64Url(body),
    async challenge(path, body) {
      const res = await fetch(url(path), { method: 'POST', body });
      check(res.status === 402, `An unpaid POST ${path} must be answered 402.`, { status: res.status });
      const header = res.headers.get(headerNames.paymentRequired);
      check(header !== null, 'The 402 carries no PAYMENT-REQUIRED header.');
      await drain(res);
      const required = decodePaymentRequiredHeader(header);
      declared = required.extensions;
      const first = required.accepts[0];
      check(first !== undefined, 'The 402 offers nothing: the rail could not quote the price.');
      check(setup.client.supports(first), "The client rail does not support the server rail's quote.", {
        offer: first,
      });
      return first;
    },
    pay,
    send(path, body, accepted, railPayload, headers = {}) {
      // Extensions a client rail returned with its payload travel at the PaymentPayload's top, as payingFetch sends them.
      const { payload, extensions } = splitPayloadExtensions(railPayload);
      const signature = encodePaymentSignatureHeader({
        x402Version: 2,
        resource: { url: url(path) },
        accepted,
        payload,
        ...(extensions ? { extensions } : {}),
      });
      return fetch(url(path), {
        method: 'POST',
        body,
        headers: { ...headers, [headerNames.paymentSignature]: signature },
      });
    },
    hookKit: (path) => ({
      request: { method: 'POST', url: url(path) },
      pay,
      wallet: setup.wallet,
      secondWallet: setup.secondWallet,
    }),
    balances: () => setup.balances(),
  };
  return context;
}
