/**
 * The paywall with real rails (EVM EIP-3009 on anvil, Solana SPL on the litesvm devnet, Lightning L402 on the
 * LND stand-in) under 10,000 hostile PAYMENT-SIGNATURE and Authorization headers: random values and
 * mutations of valid payments. Every answer is 400, 402, 413 or 431 — never a 500, never a throw — and
 * nothing is settled: no rail settle call, no store settle or pending mark, no claim left behind, no token
 * moved on either chain.
 *
 * The valid payments are real and correctly signed, but from payers who cannot pay (an EVM and a Solana
 * account holding no tokens; an L402 credential for an invoice nobody paid), so a mutation that keeps a
 * payment intact is refused by the rail's own checks and still settles nothing.
 */
import { randomBytes } from 'node:crypto';
import { Connection } from '@solana/web3.js';
import fc from 'fast-check';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader, type PaymentRequirements } from '../../src/index';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { solanaExactClient, solanaWallet } from '../../adapters/solana/index';
import { serveFetch } from '../../src/server/node';
import { startDevnets } from '../../fixtures/startDevnets';
import { requestHead, statusOfHead } from '../support/rawHttp';
import { fuzzPaths, fuzzPaywall, type AllDevnets, type FuzzPaywall } from './support/fuzzPaywall';
import { asWireHeader, mutatedBase64Json, mutatedL402Authorization, randomHeader } from './support/mutations';

const ORIGIN = 'http://fuzz.test';
/** Headers per property: 10,000 in-process through the Fetch-API paywall, and some more over a real socket. */
const RUNS = { randomX402: 3300, evm: 3000, solana: 1500, l402: 1500, lightningX402: 700, socket: 300 } as const;

let devnets: AllDevnets;
let app: FuzzPaywall;
/** Answers seen, by status and reason code: printed at the end, and asserted on. */
const tally = new Map<string, number>();
const balances = { evmPayee: 0n, solanaPayee: 0n };

beforeAll(async () => {
  devnets = await startDevnets({ evm: true, solana: true, lightning: true });
  app = await fuzzPaywall(devnets);
  balances.evmPayee = await devnets.evm.balanceOf(devnets.evm.accounts.payee.address);
  balances.solanaPayee = devnets.solana.tokenBalance(devnets.solana.keypairs.payee.publicKey);
});

afterAll(async () => {
  console.log(`fuzz paywall answers: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
  await devnets?.stop();
});

/** The x402 offers of a route's challenge. */
async function offersOf(path: string, method = 'GET'): Promise<PaymentRequirements[]> {
  const res = await app.handler(new Request(`${ORIGIN}${path}`, { method }));
  expect(res.status).toBe(402);
  return decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
}

/** Sends one hostile request and checks the answer is a clean refusal; returns `status:reason`. */
async function refused(path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<string> {
  const response = await app.handler(
    new Request(`${ORIGIN}${path}`, { method, headers, ...(body === undefined ? {} : { body }) }),
  );
  const label = `${response.status}:${await reasonOf(response)}`;
  tally.set(label, (tally.get(label) ?? 0) + 1);
  if (![400, 402, 413, 431].includes(response.status))
    throw new Error(`answered ${label} to ${JSON.stringify(headers).slice(0, 300)}`);
  // A refusal always says why: a stable protocol code on a 400, a fresh challenge on a 402.
  if (response.status === 400) expect(label).toMatch(/^400:(PROTOCOL|MACAROON)__/);
  if (response.status === 402) expect(label).not.toBe('402:no-code');
  return label;
}

/** The reason of a refusal: the 402 challenge's `error`, or the 400 body's `code`. */
async function reasonOf(response: Response): Promise<string> {
  const challenge = response.headers.get('PAYMENT-REQUIRED');
  if (response.status === 402 && challenge !== null) return decodePaymentRequiredHeader(challenge).error ?? 'challenge';
  const text = await response.text();
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : 'no-code';
  } catch {
    return 'not-json';
  }
}

describe('fuzz: the paywall with real rails refuses 10,000 hostile payment headers cleanly', () => {
  it(`${RUNS.randomX402} random PAYMENT-SIGNATURE (and X-PAYMENT) values on a route of every rail`, async () => {
    await fc.assert(
      fc.asyncProperty(randomHeader, fc.boolean(), fc.string({ maxLength: 64 }), async (header, v1Too, body) => {
        await refused(
          fuzzPaths.all,
          { 'PAYMENT-SIGNATURE': header, ...(v1Too ? { 'X-PAYMENT': header } : {}) },
          'POST',
          body,
        );
      }),
      { numRuns: RUNS.randomX402 },
    );
  });

  it(`${RUNS.evm} mutations of a valid EIP-3009 payment (signed by a payer with no tokens)`, async () => {
    const offer = (await offersOf(fuzzPaths.chain)).find((o) => o.network.startsWith('eip155:'));
    if (!offer) throw new Error('no EVM offer');
    const poor = evmWallet(privateKeyToAccount(devnets.evm.accounts.poor.privateKey as Hex), {
      publicClient: devnets.evm.publicClient,
    });
    const payload = await evmEip3009Client().createPayment(offer, poor, {
      resource: { url: `${ORIGIN}${fuzzPaths.chain}` },
      x402Version: 2,
      now: Date.now(),
    });
    const valid = encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload });
    // The untouched payment gets as far as the chain, which says the payer cannot pay.
    expect(await refused(fuzzPaths.chain, { 'PAYMENT-SIGNATURE': valid })).toBe('402:insufficient_funds');
    await fc.assert(
      fc.asyncProperty(
        mutatedBase64Json(valid),
        async (header) => void (await refused(fuzzPaths.chain, { 'PAYMENT-SIGNATURE': header })),
      ),
      { numRuns: RUNS.evm },
    );
  });

  it(`${RUNS.solana} mutations of a valid Solana SPL payment (from a payer with no tokens)`, async () => {
    const offer = (await offersOf(fuzzPaths.chain)).find((o) => o.network.startsWith('solana:'));
    if (!offer) throw new Error('no Solana offer');
    const poor = solanaWallet(devnets.solana.keypairs.poor, {
      connection: new Connection(devnets.solana.rpcUrl, { commitment: 'confirmed' }),
    });
    const payload = await solanaExactClient().createPayment(offer, poor, {
      resource: { url: `${ORIGIN}${fuzzPaths.chain}` },
      x402Version: 2,
      now: Date.now(),
    });
    const valid = encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload });
    expect(await refused(fuzzPaths.chain, { 'PAYMENT-SIGNATURE': valid })).toMatch(/^402:/);
    await fc.assert(
      fc.asyncProperty(
        mutatedBase64Json(valid),
        async (header) => void (await refused(fuzzPaths.chain, { 'PAYMENT-SIGNATURE': header })),
      ),
      { numRuns: RUNS.solana },
    );
  });

  it(`${RUNS.l402} random and mutated L402 Authorization values (credential for an unpaid invoice)`, async () => {
    const [offer] = await offersOf(fuzzPaths.lightning);
    const macaroon = offer?.extra.macaroon;
    if (typeof macaroon !== 'string') throw new Error('no macaroon in the Lightning offer');
    const preimage = randomBytes(32).toString('hex');
    expect(await refused(fuzzPaths.lightning, { Authorization: `L402 ${macaroon}:${preimage}` })).toMatch(
      /^402:invalid_preimage|^402:invoice_unpaid/,
    );
    const header = fc.oneof(
      { weight: 3, arbitrary: mutatedL402Authorization(macaroon, preimage) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('L402 ', 'LSAT ', 'Bearer ', ''), randomHeader)
          .map(([scheme, text]) => asWireHeader(scheme + text)),
      },
    );
    await fc.assert(
      fc.asyncProperty(header, async (value) => void (await refused(fuzzPaths.lightning, { Authorization: value }))),
      { numRuns: RUNS.l402 },
    );
  });

  it(`${RUNS.lightningX402} mutations of a valid Lightning x402 payment (unpaid invoice)`, async () => {
    const [offer] = await offersOf(fuzzPaths.lightning);
    if (!offer || typeof offer.extra.macaroon !== 'string') throw new Error('no Lightning offer');
    const valid = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: offer,
      payload: { preimage: randomBytes(32).toString('hex'), macaroon: offer.extra.macaroon },
    });
    expect(await refused(fuzzPaths.lightning, { 'PAYMENT-SIGNATURE': valid })).toMatch(/^402:/);
    await fc.assert(
      fc.asyncProperty(
        mutatedBase64Json(valid),
        async (header) => void (await refused(fuzzPaths.lightning, { 'PAYMENT-SIGNATURE': header })),
      ),
      { numRuns: RUNS.lightningX402 },
    );
  });

  it(`${RUNS.socket} raw header bytes over a real socket (node:http binding): node or the paywall refuse them cleanly`, async () => {
    const server = await serveFetch(app.handler);
    try {
      const raw = fc.oneof(
        randomHeader,
        fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) =>
          Buffer.from(bytes)
            .toString('latin1')
            .replace(/[\r\n]/g, '')
            .trim(),
        ),
      );
      await fc.assert(
        fc.asyncProperty(
          raw,
          fc.constantFrom('PAYMENT-SIGNATURE', 'Authorization'),
          fc.constantFrom(fuzzPaths.chain, fuzzPaths.lightning),
          async (value, name, path) => {
            const status = await statusOfHead(server.url, requestHead('GET', path, { [name]: value }, 'fuzz.test'));
            const label = `${status}:socket`;
            tally.set(label, (tally.get(label) ?? 0) + 1);
            expect([400, 402, 413, 431]).toContain(status);
          },
        ),
        { numRuns: RUNS.socket },
      );
    } finally {
      await server.close();
    }
  });

  it('settled nothing: no settle call, no receipt or pending mark in the store, no claim left, no token moved', async () => {
    expect(app.calls.railSettle).toBe(0);
    expect(app.calls.storeSettle).toBe(0);
    expect(app.calls.storeMarkPending).toBe(0);
    for (const paymentId of app.calls.claimed) expect(await app.store.get(paymentId)).toBeUndefined();
    expect(await devnets.evm.balanceOf(devnets.evm.accounts.payee.address)).toBe(balances.evmPayee);
    expect(devnets.solana.tokenBalance(devnets.solana.keypairs.payee.publicKey)).toBe(balances.solanaPayee);
    // The fuzz reached every layer: malformed headers (400), bad payments (402), and the rails' own checks.
    const total = [...tally.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(10_000);
    const statuses = new Set([...tally.keys()].map((label) => label.split(':')[0]));
    expect(statuses).toContain('400');
    expect(statuses).toContain('402');
  });
});
