import { sha256Base64Url } from '../core/canonical';
import type { PriceOffer, RailPayload } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import { createReceiptSigner } from '../core/receipt/signer';
import { headerNames } from '../protocol/headers';
import { parseMppChallenges } from '../protocol/mpp/mppChallenge';
import { decodeBase64UrlObject } from '../protocol/mpp/encoding';
import { PaymentRequirementsSchema } from '../protocol/schemas';
import type { PaymentRequirements } from '../protocol/schemas';
import type { FetchLike } from '../client/payingFetch';
import { reportCharge } from '../server/reportCharge';
import { paywall, type Paywall } from '../server/paywall';
import { check } from './conformanceFailure';
import { drain } from './expectations';
import { protocolDriver, type ConformanceProtocol, type ProtocolDriver } from './protocols/index';
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
  /** The setup, with the protocol's own hooks, skips and reasons merged in. */
  setup: RailConformanceSetup;
  /** The protocol this context asks and pays in. */
  protocol: ConformanceProtocol;
  driver: ProtocolDriver;
  /**
   * Every MPP challenge the paywall issued, by id, with the sealed offer its `opaque` carries (receipts of MPP
   * payments name one and bind that offer).
   */
  mppChallenges: Map<string, PaymentRequirements | undefined>;
  /** Moves the paywall's clock by `ms` (0 puts it back): a challenge is then judged at that time. */
  skewClock(ms: number): void;
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
  /** POSTs `body` unpaid to `path`, expects a 402 and returns its first offer in this protocol. */
  challenge(path: string, body: string): Promise<PaymentRequirements>;
  /** Creates a payment with the setup's client rail. */
  pay(offer: PaymentRequirements, options?: ConformancePayOptions): Promise<RailPayload>;
  /** POSTs `body` to `path` presenting `payload` for the challenge of `accepted`, in this protocol. */
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

/** The setup as seen under `protocol`: its hooks, skips and pinned reasons merged over the setup's own. */
export function setupUnder(setup: RailConformanceSetup, protocol: ConformanceProtocol): RailConformanceSetup {
  const own = protocol === 'x402' ? undefined : setup.protocols?.[protocol];
  if (!own) return setup;
  return {
    ...setup,
    hooks: { ...setup.hooks, ...own.hooks },
    skip: { ...setup.skip, ...own.skip },
    expectReasons: { ...setup.expectReasons, ...own.expectReasons },
  };
}

/**
 * Builds the kit's paywall over the setup's server rail: `POST /conformance/paid` and `POST /conformance/other`
 * at the setup's price, a handler that echoes the request (or answers 500 when {@link FAIL_HEADER} is set),
 * served in-process.
 */
export async function createConformanceContext(
  claimed: RailConformanceSetup,
  protocol: ConformanceProtocol = 'x402',
): Promise<ConformanceContext> {
  const setup = setupUnder(claimed, protocol);
  const driver = protocolDriver(protocol, { setup, origin: CONFORMANCE_ORIGIN });
  driver.assertSpoken();
  let skew = 0;
  const mppChallenges = new Map<string, PaymentRequirements | undefined>();
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
      now: () => Date.now() + skew,
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
  const fetch: FetchLike = async (input, init) => {
    const res = await handler(new Request(input, init));
    const authenticate = res.headers.get(headerNames.wwwAuthenticate);
    if (res.status === 402 && authenticate !== null) {
      try {
        for (const c of parseMppChallenges(authenticate)) mppChallenges.set(c.id, sealedOffer(c.opaque));
      } catch {
        // not MPP
      }
    }
    return res;
  };
  let counter = 0;
  const url = (path: string) => `${CONFORMANCE_ORIGIN}${path}`;
  const pay = (req: PaymentRequirements, options: ConformancePayOptions = {}) =>
    driver.pay(req, options.wallet ?? setup.wallet, options.now ?? Date.now());

  const context: ConformanceContext = {
    setup,
    protocol,
    driver,
    mppChallenges,
    skewClock: (ms) => {
      skew = ms;
    },
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
      const offer = driver.read(res);
      await drain(res);
      return offer;
    },
    pay,
    send(path, body, accepted, payload, headers = {}) {
      return fetch(url(path), {
        method: 'POST',
        body,
        headers: { ...headers, ...driver.present(accepted, payload, url(path)) },
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

/** The x402 offer an x402-rails MPP challenge seals in `opaque`, when it carries one. */
function sealedOffer(opaque: string | undefined): PaymentRequirements | undefined {
  if (opaque === undefined) return undefined;
  try {
    const parsed = PaymentRequirementsSchema.safeParse(decodeBase64UrlObject(opaque, 'WWW-Authenticate', 'opaque'));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
