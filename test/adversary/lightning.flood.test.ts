/**
 * Attack (finding 12, Lightning): flood a Lightning route with unpaid requests. Every 402 used to make a fresh LND
 * invoice, so 500 requests left 500 invoices in the node's invoice store (and an endless flood, without bound).
 *
 * Guarantees: the node holds at most `maxOutstandingInvoices` unpaid invoices (the stand-in's invoice book counted
 * exactly); past the cap a Lightning-only route answers 503 with Retry-After and a mixed route still answers 402 with
 * its other rail's offer (the Lightning offer left out); no invoice is ever handed to two challenges; a request that
 * comes back gets an invoice made ahead (no node call on its challenge path). After the flood's invoices expire a
 * real payment works and moves exactly the price. Own Lightning devnet (invoice counts and balances).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lightningClient,
  lightningServer,
  lightningWallet,
  type LightningServerRail,
} from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { payingFetch, type FetchLike } from '../../src/client/payingFetch';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { decodePaymentRequiredHeader } from '../../src/protocol/headers';
import { paywall } from '../../src/server/paywall';
import { fakeRail, createFakeLedger } from '../unit/support/fakeRail';

const BASE = 'http://shop.test';
const PRICE = 21_000n;
const CAP = 40;
// Long enough that the flood itself (500 challenges; seconds on a loaded 2-core machine) ends before any invoice expires.
const LIFETIME_SECONDS = 6;
let devnet: LightningDevnet;

beforeAll(async () => {
  devnet = await startLightningDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

/** A paywall over bob's node: `GET /ln` takes Lightning only, `GET /mixed` Lightning or the fake rail. */
async function server(parameters: {
  cap: number;
  ready: number;
  lifetime: number;
}): Promise<{ fetch: FetchLike; rail: LightningServerRail; served: () => number }> {
  const rail = lightningServer({
    lnd: devnet.nodes.bob.lnd,
    network: devnet.network,
    rootKey: new Uint8Array(randomBytes(32)),
    maxOutstandingInvoices: parameters.cap,
    readyInvoices: parameters.ready,
    invoiceExpirySeconds: parameters.lifetime,
  });
  const ledger = createFakeLedger();
  ledger.open('merchant', 0n);
  let served = 0;
  const pw = paywall(
    {
      'GET /ln': { accepts: [{ rail: 'lightning-l402', amount: PRICE }] },
      'GET /mixed': {
        accepts: [
          { rail: 'lightning-l402', amount: PRICE },
          { rail: 'fake-exact', amount: 5n },
        ],
      },
    },
    { rails: [rail, fakeRail({ ledger, payTo: 'merchant' })], signer: await createReceiptSigner() },
  );
  const app = pw.wrap(async () => {
    served++;
    return Response.json({ ok: true });
  });
  return { rail, served: () => served, fetch: async (input, init) => app(new Request(input, init)) };
}

const offersOf = (res: Response) => decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('an unpaid flood on a Lightning route', () => {
  it('500 unpaid requests leave exactly the cap of invoices on the node; then 503 (Lightning only) or the other rail alone; a real payment works once they expire', async () => {
    const { fetch, rail, served } = await server({ cap: CAP, ready: 2, lifetime: LIFETIME_SECONDS });
    const before = devnet.invoiceCount('bob');

    // Distinct URLs (no two alike, so nothing is made ahead) and one hot URL, all at once.
    const flood = await Promise.all(
      Array.from({ length: 500 }, (_, i) => fetch(`${BASE}/ln${i % 2 ? `?n=${i}` : ''}`)),
    );
    const challenged = flood.filter((r) => r.status === 402);
    const refused = flood.filter((r) => r.status === 503);
    expect(challenged.length + refused.length).toBe(500);
    await until(() => rail.invoices().making === 0);
    // Exactly the cap was made: each went to one challenge, or waits made ahead for the hot URL (never handed out twice).
    expect(devnet.invoiceCount('bob') - before).toBe(CAP);
    expect(challenged.length + rail.invoices().ready).toBe(CAP);
    expect(challenged.length).toBeGreaterThanOrEqual(CAP - 2);
    expect(refused.every((r) => r.headers.get('Retry-After') !== null)).toBe(true);
    expect(rail.invoices()).toMatchObject({ outstanding: CAP, making: 0, capped: refused.length });
    // Each invoice went to one challenge only.
    const hashes = challenged.map((r) => offersOf(r)[0]?.extra.paymentHash);
    expect(new Set(hashes).size).toBe(challenged.length);

    // At the cap: a route with another rail still answers 402, with that rail's offer only.
    const mixed = await fetch(`${BASE}/mixed`);
    expect(mixed.status).toBe(402);
    expect(offersOf(mixed).map((o) => o.network)).toEqual(['fakenet:1']);
    expect(mixed.headers.get('WWW-Authenticate')).toBeNull();
    expect(devnet.invoiceCount('bob') - before).toBe(CAP);
    expect(served()).toBe(0);

    // The flood's invoices expire: a real payment gets a new invoice and moves exactly the price.
    await new Promise((resolve) => setTimeout(resolve, LIFETIME_SECONDS * 1000 + 1_100));
    const [alice, bob] = [devnet.channelBalance('alice'), devnet.channelBalance('bob')];
    const payer = payingFetch(fetch, {
      adapters: [lightningClient({ maxFeeMsat: 1_000n })],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
      capabilities: false,
    });
    const paid = await payer(`${BASE}/ln`);
    expect(paid.status).toBe(200);
    expect(served()).toBe(1);
    expect(devnet.channelBalance('bob') - bob).toBe(PRICE);
    expect(alice - devnet.channelBalance('alice')).toBe(PRICE);
    // The hot URL came back: one invoice made for the payment, two made ahead for its next challenges.
    await until(() => rail.invoices().making === 0);
    expect(devnet.invoiceCount('bob') - before).toBe(CAP + 1 + 2);
    expect(rail.invoices()).toMatchObject({ outstanding: 2, ready: 2 });
  });

  it('a request that comes back is answered from invoices made ahead: no node call on its challenge path, each invoice handed out once', async () => {
    const { fetch, rail } = await server({ cap: 100, ready: 3, lifetime: 600 });
    expect((await fetch(`${BASE}/ln`)).status).toBe(402); // first time: made on demand
    expect((await fetch(`${BASE}/ln`)).status).toBe(402); // second time: made on demand, and 3 are made ahead
    await until(() => rail.invoices().ready === 3 && rail.invoices().making === 0);
    const onDemand = rail.invoices().madeOnDemand;
    expect(onDemand).toBe(2);
    const seen = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${BASE}/ln`);
      expect(res.status).toBe(402);
      seen.add(offersOf(res)[0]?.extra.paymentHash);
      expect(rail.invoices().madeOnDemand).toBe(onDemand); // taken from the pool
      await until(() => rail.invoices().ready === 3 && rail.invoices().making === 0);
    }
    expect(seen.size).toBe(5);
    expect(rail.invoices()).toMatchObject({ outstanding: 2 + 5 + 3, madeAhead: 8, capped: 0 });
  });
});
