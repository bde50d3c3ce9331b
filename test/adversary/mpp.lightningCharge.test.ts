/**
 * MPP `lightning`/`charge` (draft-lightning-charge-00) on the Lightning devnet: the paywall offers the rail's
 * BOLT11 invoice as a Payment challenge (amount in sat, methodDetails {invoice, paymentHash, network}) beside x402
 * and L402, and a credential carrying the preimage goes through the same flow. Attacks: a preimage of another
 * challenge's paid invoice, a preimage presented with a challenge of another route, a guessed preimage — each
 * refused, the handler not run, channel balances unchanged.
 */
import { createHash } from 'node:crypto';
import { pay } from 'ln-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lightningClient, lightningWallet, parseL402Challenges } from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import {
  decodePaymentRequiredHeader,
  parseMppChallenges,
  parseMppReceipt,
  payingFetch,
  receiptOf,
  serializeMppCredential,
  type FetchLike,
  type MppChallenge,
} from '../../src/index';
import { LN_PRICE, lightningPaywall } from '../support/lightningHarness';

const BASE = 'http://shop.test';
let devnet: LightningDevnet;
let fetch: FetchLike;
let runs = 0;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  const server = await lightningPaywall(devnet);
  fetch = async (input, init) => {
    const res = await server.fetch(input, init);
    if (res.status === 200) runs += 1;
    return res;
  };
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => ({ alice: devnet.channelBalance('alice'), bob: devnet.channelBalance('bob') });

async function challengeOf(path: string): Promise<{ challenge: MppChallenge; res: Response }> {
  const res = await fetch(`${BASE}${path}`);
  expect(res.status).toBe(402);
  const [challenge] = parseMppChallenges(res.headers.get('WWW-Authenticate') ?? '');
  if (!challenge) throw new Error('no Payment challenge');
  return { challenge, res };
}
const invoiceOf = (c: MppChallenge) => String((c.request.methodDetails as Record<string, unknown>).invoice);
const alicePays = async (invoice: string) =>
  (await pay({ lnd: devnet.nodes.alice.lnd, request: invoice, max_fee_mtokens: '1000' })).secret;
const present = (path: string, challenge: MppChallenge, preimage: string) =>
  fetch(`${BASE}${path}`, { headers: { Authorization: serializeMppCredential({ challenge, payload: { preimage } }) } });

describe('MPP lightning charge', () => {
  it('offers the invoice of the x402 and L402 offers as lightning/charge in sat, with its payment hash and network', async () => {
    const { challenge, res } = await challengeOf('/ln/report');
    const offer = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
    const [l402] = parseL402Challenges(res.headers.get('WWW-Authenticate') ?? '');
    expect(challenge).toMatchObject({
      method: 'lightning',
      intent: 'charge',
      request: {
        amount: (LN_PRICE / 1000n).toString(),
        currency: 'sat',
        recipient: offer?.payTo,
        methodDetails: { invoice: offer?.extra.invoice, paymentHash: offer?.extra.paymentHash, network: 'regtest' },
      },
    });
    expect(l402?.invoice).toBe(invoiceOf(challenge));
  });

  it('a plain MPP client (pays the invoice, presents the preimage) is served once; Payment-Receipt names the payment hash', async () => {
    const before = balances();
    const runsBefore = runs;
    const { challenge } = await challengeOf('/ln/report');
    const preimage = await alicePays(invoiceOf(challenge));
    const res = await present('/ln/report', challenge, preimage);
    expect(res.status).toBe(200);
    const receipt = parseMppReceipt(res.headers.get('Payment-Receipt') ?? '');
    expect(receipt).toMatchObject({
      method: 'lightning',
      challengeId: challenge.id,
      status: 'success',
      reference: createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex'),
    });
    expect(receipt['x402-rails/receipt']).toMatchObject({
      protocol: 'mpp',
      proof: preimage,
      amount: LN_PRICE.toString(),
    });
    expect(runs - runsBefore).toBe(1);
    const after = balances();
    expect([before.alice - after.alice, after.bob - before.bob]).toEqual([LN_PRICE, LN_PRICE]);
    // Consumed once (draft-lightning-charge-00): presented again, it is refused and buys nothing more (see
    // mpp.lightningConsumeOnce.test.ts for the concurrent and cross-protocol cases).
    const again = await present('/ln/report', challenge, preimage);
    expect(again.status).toBe(402);
    expect(decodePaymentRequiredHeader(again.headers.get('PAYMENT-REQUIRED') ?? '').error).toBe('challenge_consumed');
    expect(runs - runsBefore).toBe(1);
    expect(balances()).toEqual(after);
  });

  it('payingFetch pays lightning/charge when MPP is preferred: one payment, signed receipt (protocol mpp)', async () => {
    const before = balances();
    const client = payingFetch(fetch, {
      adapters: [lightningClient({ maxFeeMsat: 1_000n })],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
      protocols: ['mpp'],
    });
    const res = await client(`${BASE}/ln/report`);
    expect(res.status).toBe(200);
    expect(receiptOf(res)).toMatchObject({
      protocol: 'mpp',
      receiptSource: 'server',
      receiptCheck: 'signature',
      receipt: { protocol: 'mpp', rail: 'lightning-l402' },
    });
    expect(before.alice - balances().alice).toBe(LN_PRICE);
  });

  it('refuses a preimage of another paid invoice, a credential for another route, and a guessed preimage: handler 0 runs, balances unchanged', async () => {
    const { challenge: first } = await challengeOf('/ln/report');
    const paidPreimage = await alicePays(invoiceOf(first));
    const { challenge: second } = await challengeOf('/ln/report');
    const before = balances();
    const runsBefore = runs;
    const otherInvoice = await present('/ln/report', second, paidPreimage);
    expect(otherInvoice.status).toBe(402);
    const otherRoute = await present('/ln/other', first, paidPreimage);
    expect(otherRoute.status).toBe(402);
    expect(decodePaymentRequiredHeader(otherRoute.headers.get('PAYMENT-REQUIRED') ?? '').error).toBe(
      'challenge_invalid',
    );
    const guessed = await present('/ln/report', second, '11'.repeat(32));
    expect(guessed.status).toBe(402);
    for (const res of [otherInvoice, guessed])
      expect(decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error).toMatch(
        /preimage|invoice|payment/,
      );
    expect(runs).toBe(runsBefore);
    expect(balances()).toEqual(before);
  });
});
