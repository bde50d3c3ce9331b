/**
 * Attack (capabilities review): two server processes share a capability store (SQLite) and the L402 root key, each
 * with its own payment store (the default, memory). The payer pays ONE L402 invoice on process A (which buys a
 * capability of 3 calls), then presents the same reusable L402 credential to process B, which has never seen that
 * payment: before the fix B minted a second capability (a random id, 3 more calls) from the same payment. Then the
 * capabilities are spent alternately on both processes.
 *
 * Guarantees: both processes name the same capability for the one payment (its id comes from the payment hash), so
 * the calls the payment bought are 3 in total across both processes and both tokens, then 402
 * `capability_exhausted`; the node was paid exactly once (bob +price, alice −price). Own Lightning devnet.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pay } from 'ln-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lightningServer } from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { capabilities } from '../../src/capabilities/capabilities';
import type { CapabilityToken } from '../../src/capabilities/capabilityToken';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { createSqliteCapabilityStore, type SqliteCapabilityStore } from '../../src/capabilities/sqliteCapabilityStore';
import { createReceiptSigner, type ReceiptSigner } from '../../src/core/receipt/signer';
import type { FetchLike } from '../../src/client/payingFetch';
import { paywall } from '../../src/server/paywall';

const BASE = 'http://shop.test';
const PRICE = 21_000n;
const dir = mkdtempSync(join(tmpdir(), 'x402-adversary-caps-'));
const rootKey = new Uint8Array(randomBytes(32));
let devnet: LightningDevnet;
let token: CapabilityToken;
let signer: ReceiptSigner;
const stores: SqliteCapabilityStore[] = [];
let served = 0;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  [token, signer] = await Promise.all([jwsCapabilityToken(), createReceiptSigner()]);
});
afterAll(async () => {
  for (const store of stores) store.close();
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One server process: its own payment store (memory), the shared capability store file, the shared keys. */
function processOf(): FetchLike {
  const store = createSqliteCapabilityStore({ path: join(dir, 'capabilities.sqlite') });
  stores.push(store);
  const caps = capabilities({ token, store, grants: { 'GET /ln/report': { calls: 3, ttlSeconds: 600 } } });
  const pw = paywall(
    { 'GET /ln/report': { accepts: [{ rail: 'lightning-l402', amount: PRICE }] } },
    {
      rails: [lightningServer({ lnd: devnet.nodes.bob.lnd, network: devnet.network, rootKey })],
      signer,
      extensions: [caps],
    },
  );
  const app = pw.wrap(async () => {
    served++;
    return Response.json({ ok: true });
  });
  return async (input, init) => app(new Request(input, init));
}

it('one L402 payment buys one capability across two processes: 3 calls in total, whichever process and token', async () => {
  const [a, b] = [processOf(), processOf()];
  const [alice, bob] = [devnet.channelBalance('alice'), devnet.channelBalance('bob')];

  const challenge = await a(`${BASE}/ln/report`);
  const www = challenge.headers.get('WWW-Authenticate') ?? '';
  const macaroon = /macaroon="([^"]+)"/.exec(www)?.[1] ?? '';
  const invoice = /invoice="([^"]+)"/.exec(www)?.[1] ?? '';
  const preimage = (await pay({ lnd: devnet.nodes.alice.lnd, request: invoice, max_fee_mtokens: '1000' })).secret;
  const credential = { Authorization: `L402 ${macaroon}:${preimage}` };

  const onA = await a(`${BASE}/ln/report`, { headers: credential });
  expect(onA.status).toBe(200);
  const onB = await b(`${BASE}/ln/report`, { headers: credential }); // B has never seen this payment
  expect(onB.status).toBe(200);
  const [capA, capB] = [onA.headers.get('X402-Capability') ?? '', onB.headers.get('X402-Capability') ?? ''];
  const ids = await Promise.all(
    [capA, capB].map(async (c) => ((r) => (r.ok ? r.claims.jti : undefined))(await token.read(c))),
  );
  expect(ids[0]).toMatch(/^cap_/);
  expect(ids[1]).toBe(ids[0]);
  expect(served).toBe(2);

  // Spent alternately on both processes with both tokens: 3 calls, then exhausted everywhere.
  const use = (server: FetchLike, capability: string) =>
    server(`${BASE}/ln/report`, { headers: { 'X402-Capability': capability } });
  const statuses = [await use(a, capA), await use(b, capB), await use(b, capA), await use(a, capB), await use(b, capB)];
  expect(statuses.map((r) => r.status)).toEqual([200, 200, 200, 402, 402]);
  expect(statuses.map((r) => r.headers.get('X402-Capability-Remaining'))).toEqual(['2', '1', '0', null, null]);
  expect(statuses.slice(3).map((r) => r.headers.get('X402-Capability-Error'))).toEqual([
    'capability_exhausted',
    'capability_exhausted',
  ]);
  expect(served).toBe(5);

  // The node was paid once.
  expect(devnet.channelBalance('bob') - bob).toBe(PRICE);
  expect(alice - devnet.channelBalance('alice')).toBe(PRICE);
});
