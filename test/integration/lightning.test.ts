/**
 * The Lightning rail end to end on the Lightning devnet (LND-protocol stand-in driven through ln-service):
 * bob runs the paywall's node, alice pays, carol is too poor. Both protocols: x402 (payingFetch) and plain
 * L402 (WWW-Authenticate / Authorization only).
 */
import { createHash, randomBytes } from 'node:crypto';
import bolt11 from 'bolt11';
import { createInvoice, pay } from 'ln-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PaymentInvalidError,
  createBudgetLedger,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  payingFetch,
  receiptOf,
  verifyReceipt,
  type FetchLike,
  type Paywall,
  type PaymentRequirements,
} from '../../src/index';
import {
  l402Fetch,
  lightningClient,
  lightningWallet,
  mintL402Macaroon,
  parseL402Challenges,
  requestDescriptionHash,
  verifyL402Token,
} from '../../adapters/lightning/index';
import { REGTEST_CAIP2, startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { addFirstPartyCaveat, macaroonFromBase64, macaroonToBase64, type Macaroon } from '../../src/protocol/macaroon';
import { LN_BIG_PRICE, LN_PRICE, lightningPaywall, type LightningPaywall } from '../support/lightningHarness';

const BASE = 'http://shop.test';
let devnet: LightningDevnet;
let server: LightningPaywall;
let pw: Paywall;
let serverFetch: FetchLike;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  server = await lightningPaywall(devnet);
  ({ pw, fetch: serverFetch } = server);
});
afterAll(async () => {
  await devnet?.stop();
});

const sha256Hex = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');
const balances = () => ({
  alice: devnet.channelBalance('alice'),
  bob: devnet.channelBalance('bob'),
  carol: devnet.channelBalance('carol'),
});

function reasonOf(res: Response): string | undefined {
  const header = res.headers.get('PAYMENT-REQUIRED');
  return header ? decodePaymentRequiredHeader(header).error : undefined;
}

/** A 402 on `path`: the x402 offer and the L402 challenge, the latter read with a regex straight from the L402 spec. */
async function challenge(
  path: string,
  init?: RequestInit,
): Promise<{ offer: PaymentRequirements; macaroon: string; invoice: string }> {
  const res = await serverFetch(`${BASE}${path}`, init);
  expect(res.status).toBe(402);
  const offer = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  const www = res.headers.get('WWW-Authenticate') ?? '';
  const macaroon = /macaroon="([^"]+)"/.exec(www)?.[1];
  const invoice = /invoice="([^"]+)"/.exec(www)?.[1];
  if (!offer || !macaroon || !invoice) throw new Error(`not an L402 challenge: ${www}`);
  return { offer, macaroon, invoice };
}

/** alice pays an invoice with ln-service and learns the preimage. */
async function alicePays(invoice: string): Promise<string> {
  return (await pay({ lnd: devnet.nodes.alice.lnd, request: invoice, max_fee_mtokens: '1000' })).secret;
}

function presentL402(path: string, macaroon: string, preimage: string, init: RequestInit = {}): Promise<Response> {
  return serverFetch(`${BASE}${path}`, { ...init, headers: { Authorization: `L402 ${macaroon}:${preimage}` } });
}

/** A paid token for `path`: challenge, alice pays, returns macaroon + preimage (not yet presented). */
async function paidToken(path: string): Promise<{ macaroon: string; preimage: string; offer: PaymentRequirements }> {
  const c = await challenge(path);
  return { macaroon: c.macaroon, preimage: await alicePays(c.invoice), offer: c.offer };
}

/** Rebuilds a macaroon with edited caveats but the original signature (what a forger can do). */
function withCaveats(text: string, edit: (caveats: Macaroon['caveats']) => Macaroon['caveats']): string {
  const m = macaroonFromBase64(text);
  return macaroonToBase64({ ...m, caveats: edit(m.caveats) });
}

describe('Lightning rail on the LND-protocol devnet', () => {
  it('offers an invoice + macaroon in x402 accepts and in WWW-Authenticate: L402', async () => {
    const url = `${BASE}/ln/report`;
    const { offer, macaroon, invoice } = await challenge('/ln/report');
    expect(offer).toMatchObject({
      scheme: 'exact',
      network: REGTEST_CAIP2,
      asset: 'msat',
      amount: LN_PRICE.toString(),
      payTo: devnet.nodes.bob.publicKey,
    });
    expect(offer.extra.invoice).toBe(invoice);
    expect(offer.extra.macaroon).toBe(macaroon);
    const decoded = bolt11.decode(invoice, {
      bech32: 'bcrt',
      pubKeyHash: 0x6f,
      scriptHash: 0xc4,
      validWitnessVersions: [0, 1],
    });
    expect(decoded.millisatoshis).toBe(LN_PRICE.toString());
    expect(decoded.payeeNodeKey).toBe(devnet.nodes.bob.publicKey);
    expect(decoded.tags.find((t) => t.tagName === 'payment_hash')?.data).toBe(offer.extra.paymentHash);
    expect(decoded.tags.find((t) => t.tagName === 'purpose_commit_hash')?.data).toBe(
      requestDescriptionHash({ method: 'GET', url }),
    );
    const m = macaroonFromBase64(macaroon);
    expect(m.identifier.length).toBe(66);
    expect(Buffer.from(m.identifier.subarray(2, 34)).toString('hex')).toBe(offer.extra.paymentHash);
  });

  it('x402: payingFetch pays the invoice; receipt verifies, reference = payment hash, proof = preimage, balances move by the price', async () => {
    const before = balances();
    const payer = payingFetch(serverFetch, {
      adapters: [lightningClient({ maxFeeMsat: 1_000n })],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
    });
    const started = performance.now();
    const res = await payer(`${BASE}/ln/report`);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    const outcome = receiptOf(res);
    expect(outcome?.receiptError).toBeUndefined();
    const receipt = outcome?.receipt;
    expect(receipt).toMatchObject({
      rail: 'lightning-l402',
      scheme: 'exact',
      network: REGTEST_CAIP2,
      asset: 'msat',
      amount: LN_PRICE.toString(),
      status: 'settled',
      payee: devnet.nodes.bob.publicKey,
    });
    expect(receipt?.reference).toBe(outcome?.offer.extra.paymentHash);
    expect(sha256Hex(receipt?.proof ?? '')).toBe(receipt?.reference);
    expect(await verifyReceipt(outcome?.signedReceipt, pw.jwks())).toMatchObject({ reference: receipt?.reference });
    const after = balances();
    expect(before.alice - after.alice).toBe(LN_PRICE);
    expect(after.bob - before.bob).toBe(LN_PRICE);
    const warm: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const t = performance.now();
      expect((await payer(`${BASE}/ln/report`)).status).toBe(200);
      warm.push(performance.now() - t);
    }
    warm.sort((a, b) => a - b);
    const pct = (q: number) => (warm[Math.min(warm.length - 1, Math.floor(q * warm.length))] ?? 0).toFixed(1);
    console.log(
      `[lightning] x402 paid request (402 → pay → 200 with receipt): first ${elapsed.toFixed(1)} ms (cold ln-service client), warm p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`,
    );
  });

  it('can add a legacy LSAT challenge beside the L402 one', async () => {
    const legacy = await lightningPaywall(devnet, { rail: { legacyLsatChallenge: true } });
    const res = await legacy.fetch(`${BASE}/ln/report`);
    const challenges = parseL402Challenges(res.headers.get('WWW-Authenticate') ?? '');
    expect(challenges.map((c) => c.scheme)).toEqual(['L402', 'LSAT']);
    expect(challenges[0]?.macaroon).toBe(challenges[1]?.macaroon);
  });

  it('plain L402 (spec only): pay the invoice from WWW-Authenticate, retry with Authorization: L402 mac:preimage; reuse within expiry pays nothing more', async () => {
    const before = balances();
    const { macaroon, invoice } = await challenge('/ln/report');
    const preimage = await alicePays(invoice);
    const first = await presentL402('/ln/report', macaroon, preimage);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ ok: true, path: '/ln/report' });
    const again = await presentL402('/ln/report', macaroon, preimage);
    expect(again.status).toBe(200);
    const otherQuery = await presentL402('/ln/report?page=2', macaroon, preimage);
    expect(otherQuery.status).toBe(200);
    const lsat = await serverFetch(`${BASE}/ln/report`, {
      headers: { Authorization: `LSAT ${macaroon}:${preimage.toUpperCase()}` },
    });
    expect(lsat.status).toBe(200);
    const after = balances();
    expect(before.alice - after.alice).toBe(LN_PRICE);
    expect(after.bob - before.bob).toBe(LN_PRICE);
  });

  it('l402Fetch pays once and reuses its token on the same route', async () => {
    const before = balances();
    const get = l402Fetch(serverFetch, { lnd: devnet.nodes.alice.lnd, maxFeeMsat: 1_000n });
    expect((await get(`${BASE}/ln/other`)).status).toBe(200);
    expect((await get(`${BASE}/ln/other`)).status).toBe(200);
    expect(before.alice - devnet.channelBalance('alice')).toBe(LN_PRICE);
  });

  it('an x402 payment token can also be used as plain L402 on its route (same payment, no second charge)', async () => {
    const { offer, preimage, macaroon } = await paidToken('/ln/report');
    const x402 = await serverFetch(`${BASE}/ln/report`, {
      headers: {
        'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload: { preimage } }),
      },
    });
    expect(x402.status).toBe(200);
    expect((await presentL402('/ln/report', macaroon, preimage)).status).toBe(200);
  });

  it('rejects tampered, foreign and mismatched tokens with their own reason codes', async () => {
    const { macaroon, preimage } = await paidToken('/ln/report');
    const m = macaroonFromBase64(macaroon);
    const paymentHash = Buffer.from(m.identifier.subarray(2, 34)).toString('hex');
    const cases: [string, string, string][] = [
      ['wrong preimage', macaroon, randomBytes(32).toString('hex')],
      ['caveat added: unknown condition', macaroonToBase64(addFirstPartyCaveat(m, 'x402_tier=gold')), preimage],
      ['caveat added: other route', macaroonToBase64(addFirstPartyCaveat(m, 'x402_route=/ln/other')), preimage],
      ['caveat added: other method', macaroonToBase64(addFirstPartyCaveat(m, 'x402_method=POST')), preimage],
      [
        'caveat added: expiry in the past',
        macaroonToBase64(addFirstPartyCaveat(m, `x402_valid_until=${Math.floor(Date.now() / 1000) - 10}`)),
        preimage,
      ],
      ['caveat removed', withCaveats(macaroon, (c) => c.slice(0, -1)), preimage],
      [
        'caveat changed: amount',
        withCaveats(macaroon, (c) =>
          c.map((x) =>
            Buffer.from(x.identifier).toString().startsWith('x402_amount_msat=')
              ? { identifier: Buffer.from('x402_amount_msat=1') }
              : x,
          ),
        ),
        preimage,
      ],
      [
        'macaroon from another root key',
        mintL402Macaroon({
          rootKey: randomBytes(32),
          paymentHash,
          serviceName: 'x402',
          path: '/ln/report',
          method: 'GET',
          amountMsat: LN_PRICE.toString(),
          validUntil: Math.floor(Date.now() / 1000) + 600,
        }).base64,
        preimage,
      ],
    ];
    const expected = [
      'invalid_preimage',
      'caveat_failed',
      'caveat_failed',
      'caveat_failed',
      'macaroon_expired',
      'invalid_macaroon',
      'invalid_macaroon',
      'invalid_macaroon',
    ];
    const got: string[] = [];
    for (const [, mac, pre] of cases) {
      const res = await presentL402('/ln/report', mac, pre);
      expect(res.status).toBe(402);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^L402 macaroon="/);
      got.push(reasonOf(res) ?? '');
    }
    expect(Object.fromEntries(cases.map(([name], i) => [name, got[i]]))).toEqual(
      Object.fromEntries(cases.map(([name], i) => [name, expected[i]])),
    );
    // A holder may narrow the token (an earlier expiry that has not passed): still served.
    const narrowed = macaroonToBase64(addFirstPartyCaveat(m, `x402_valid_until=${Math.floor(Date.now() / 1000) + 60}`));
    expect((await presentL402('/ln/report', narrowed, preimage)).status).toBe(200);
  });

  it('x402 payloads are checked the same way (wrong preimage, malformed payload)', async () => {
    const { offer } = await paidToken('/ln/report');
    const send = (payload: Record<string, unknown>) =>
      serverFetch(`${BASE}/ln/report`, {
        headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload }) },
      });
    expect(reasonOf(await send({ preimage: randomBytes(32).toString('hex') }))).toBe('invalid_preimage');
    expect(reasonOf(await send({ preimage: 'zz' }))).toBe('invalid_payload');
  });

  it('a token for another route or method is refused, also when replayed after it was used on its own route', async () => {
    const { macaroon, preimage } = await paidToken('/ln/report');
    expect(reasonOf(await presentL402('/ln/other', macaroon, preimage))).toBe('caveat_failed');
    expect((await presentL402('/ln/report', macaroon, preimage)).status).toBe(200);
    const replay = await presentL402('/ln/other', macaroon, preimage);
    expect(replay.status).toBe(402);
    expect(reasonOf(replay)).toBe('caveat_failed');
    const any = await paidToken('/ln/any');
    expect(reasonOf(await presentL402('/ln/any', any.macaroon, any.preimage, { method: 'POST' }))).toBe(
      'caveat_failed',
    );
    expect((await presentL402('/ln/any', any.macaroon, any.preimage)).status).toBe(200);
  });

  it('an expired token is refused, on first use and on reuse of the identical request', async () => {
    const fresh = await paidToken('/ln/report');
    const used = await paidToken('/ln/report');
    expect((await presentL402('/ln/report', used.macaroon, used.preimage)).status).toBe(200);
    server.clock.offsetMs = 2 * 3600 * 1000;
    try {
      expect(reasonOf(await presentL402('/ln/report', fresh.macaroon, fresh.preimage))).toBe('macaroon_expired');
      expect(reasonOf(await presentL402('/ln/report', used.macaroon, used.preimage))).toBe('macaroon_expired');
    } finally {
      server.clock.offsetMs = 0;
    }
  });

  // Invoice-state checks. A preimage is only learnt by paying, so to present a right preimage for an invoice
  // that is unpaid / underpaid / expired, the test plays the server operator: it makes the invoice on bob's
  // node itself with a preimage it chose (lnd's AddInvoice takes one) and mints the token with the server's
  // root key through the same exported minting function the rail uses. Everything but the invoice state is
  // then valid, so the rejection can only come from the node lookup.
  async function operatorToken(invoice: {
    mtokens?: string;
    expires_at?: string;
  }): Promise<{ macaroon: string; preimage: string; request: string }> {
    const preimage = randomBytes(32).toString('hex');
    const created = await createInvoice({ lnd: devnet.nodes.bob.lnd, secret: preimage, ...invoice });
    const { base64 } = mintL402Macaroon({
      rootKey: server.rootKey,
      paymentHash: created.id,
      serviceName: 'x402',
      path: '/ln/report',
      method: 'GET',
      amountMsat: LN_PRICE.toString(),
      validUntil: Math.floor(Date.now() / 1000) + 600,
    });
    return { macaroon: base64, preimage, request: created.request };
  }

  it('refuses a right preimage whose invoice is unpaid, underpaid or expired', async () => {
    const unpaid = await operatorToken({ mtokens: LN_PRICE.toString() });
    expect(reasonOf(await presentL402('/ln/report', unpaid.macaroon, unpaid.preimage))).toBe('invoice_unpaid');

    const underpaid = await operatorToken({});
    await pay({
      lnd: devnet.nodes.alice.lnd,
      request: underpaid.request,
      mtokens: (LN_PRICE - 1_000n).toString(),
      max_fee_mtokens: '1000',
    });
    expect(reasonOf(await presentL402('/ln/report', underpaid.macaroon, underpaid.preimage))).toBe('invoice_underpaid');

    const expired = await operatorToken({
      mtokens: LN_PRICE.toString(),
      expires_at: new Date(Date.now() + 1_500).toISOString(),
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(reasonOf(await presentL402('/ln/report', expired.macaroon, expired.preimage))).toBe('invoice_expired');
  });

  it('carol (too little balance): typed error, nothing charged, budget released', async () => {
    const before = balances();
    const ledger = createBudgetLedger([{ asset: 'msat', limit: 10_000_000n, window: 'day' }]);
    const payer = payingFetch(serverFetch, {
      adapters: [lightningClient()],
      wallets: [lightningWallet(devnet.nodes.carol.lnd)],
      ledger,
      policy: { maxPerRequest: { msat: LN_BIG_PRICE } },
    });
    const error = await payer(`${BASE}/ln/big`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PaymentInvalidError);
    expect(error).toMatchObject({ reason: 'insufficient_balance' });
    expect(balances()).toEqual(before);
    expect(ledger.used(ledger.budgets[0]!, BASE)).toBe(0n);
    expect(LN_BIG_PRICE).toBeGreaterThan(before.carol);
  });

  it('answers a malformed Authorization: L402 header with 400', async () => {
    const preimage = randomBytes(32).toString('hex');
    for (const header of [
      'L402 garbage',
      'L402 !!!:' + preimage,
      `L402 AgEL:${'zz'.repeat(32)}`,
      `L402 ${Buffer.from('not a macaroon').toString('base64')}:${preimage}`,
      `LSAT ${'A'.repeat(40_000)}:${preimage}`,
    ]) {
      const res = await serverFetch(`${BASE}/ln/report`, { headers: { Authorization: header } });
      expect(res.status, header.slice(0, 40)).toBe(400);
    }
  });

  it('measures offline L402 verification (macaroon + caveats + preimage, no RPC)', async () => {
    const { macaroon, preimage } = await paidToken('/ln/report');
    const m = macaroonFromBase64(macaroon);
    const params = {
      rootKey: server.rootKey,
      macaroon: m,
      preimage,
      serviceName: 'x402',
      path: '/ln/report',
      method: 'GET',
      amountMsat: LN_PRICE.toString(),
    };
    for (let i = 0; i < 500; i += 1) verifyL402Token({ ...params, nowSeconds: Math.floor(Date.now() / 1000) });
    const n = 5_000;
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      const r = verifyL402Token({ ...params, nowSeconds: Math.floor(Date.now() / 1000) });
      if (!r.ok) throw new Error(r.reason);
    }
    const perSecond = n / ((performance.now() - started) / 1000);
    console.log(`[lightning] offline L402 verifications: ${perSecond.toFixed(0)}/s`);
    expect(perSecond).toBeGreaterThan(500);
  });
});
