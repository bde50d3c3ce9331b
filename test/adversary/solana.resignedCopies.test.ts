/**
 * Attack: one Solana transfer, many services. Ed25519 lets the payer sign one transaction message many
 * times with different, equally valid signatures (a different nonce each time). Each re-signed copy is a
 * distinct payload that verifies; if the payment id were the payer's signature, each would get its own claim
 * and all would "settle" to the one landed transaction (its id is the fee payer's deterministic signature of
 * the same message).
 *
 * Guarantee: a Solana payment is keyed by its message, so every copy is the same payment: exactly one request
 * is served, the payee is paid once, the handler runs once, and a takeover (findSettlement) attributes the
 * landed transaction only to a payload with that very message.
 */
import { Connection, type VersionedTransaction } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  type FetchLike,
  type PaymentRequirements,
  type ServerRail,
} from '../../src/index';
import { solanaExactServer } from '../../adapters/solana/index';
import { checkSignerSignature } from '../../adapters/solana/verifySignature';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { payloadOf, signWithNonce, unsignedPayment, withSignature } from '../support/solanaAdversary';

const BASE = 'http://shop.test';
const PRICE = 10_000n;
let devnet: SolanaDevnet;
let rail: ServerRail;
let serve: FetchLike;
let handlerRuns = 0;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  const connection = new Connection(devnet.rpcUrl, 'confirmed');
  rail = solanaExactServer({
    connection,
    network: devnet.network,
    feePayer: devnet.keypairs.feePayer,
    mints: devnet.mint,
    payTo: devnet.keypairs.payee.publicKey,
    pollIntervalMs: 20,
  });
  const pw = paywall(
    { 'GET /report': { accepts: [{ rail: 'solana-spl', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  const handler = pw.wrap(async () => {
    handlerRuns += 1;
    return Response.json({ report: 'secret' });
  });
  serve = async (input, init) => handler(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

/** The offer of a 402 for `url` (its challenge binds that request). */
async function offer(url = `${BASE}/report`): Promise<PaymentRequirements> {
  const res = await serve(url);
  const accepted = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  if (!accepted) throw new Error('no offer');
  return accepted;
}

/** `count` copies of one payment, each with a different valid payer signature. */
async function resignedCopies(accepted: PaymentRequirements, count: number): Promise<VersionedTransaction[]> {
  const { payer } = devnet.keypairs;
  const tx = await unsignedPayment(devnet, accepted, payer.publicKey);
  const message = tx.message.serialize();
  return Array.from({ length: count }, (_, i) =>
    withSignature(tx, payer.publicKey, signWithNonce(payer, message, 1_000_003n * BigInt(i + 1))),
  );
}

const reasonOf = (res: Response) => decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error;

describe('Solana: re-signed copies of one payment', () => {
  it('5 concurrent re-signed copies for 5 requests: one 200, four refused, payee paid once, handler ran once', async () => {
    // Five different requests, each with its own challenge; the transfer commits to none of them.
    const urls = Array.from({ length: 5 }, (_, i) => `${BASE}/report?item=${i}`);
    const offers = await Promise.all(urls.map((url) => offer(url)));
    const accepted = offers[0];
    if (!accepted) throw new Error('no offer');
    const copies = await resignedCopies(accepted, 5);
    // The copies are genuinely distinct payloads with valid signatures (the attack is real) and one id.
    expect(new Set(copies.map((c) => Buffer.from(c.signatures[1] ?? []).toString('hex'))).size).toBe(5);
    for (const copy of copies) expect(checkSignerSignature(copy, devnet.keypairs.payer.publicKey)).toBe('valid');
    expect(new Set(copies.map((c) => rail.paymentId(payloadOf(c), accepted))).size).toBe(1);

    const payer = devnet.tokenBalance(devnet.keypairs.payer.publicKey);
    const payee = devnet.tokenBalance(devnet.keypairs.payee.publicKey);
    handlerRuns = 0;
    const send = (i: number, copy: VersionedTransaction) =>
      serve(urls[i] ?? '', {
        headers: {
          'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
            x402Version: 2,
            accepted: offers[i] ?? accepted,
            payload: payloadOf(copy),
          }),
        },
      });
    const answers = await Promise.all(copies.map((copy, i) => send(i, copy)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 402, 402, 402, 402]);
    for (const refused of answers.filter((r) => r.status === 402))
      expect(['payment_already_used', 'payment_in_progress']).toContain(reasonOf(refused));
    expect(handlerRuns).toBe(1);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey) - payee).toBe(PRICE);
    expect(payer - devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(PRICE);

    // Sent again one by one to the requests that were refused: still refused, no handler run, nothing moves.
    const served = answers.findIndex((r) => r.status === 200);
    for (const [i, copy] of copies.entries()) {
      if (i === served) continue;
      const res = await send(i, copy);
      expect(res.status).toBe(402);
      expect(reasonOf(res)).toBe('payment_already_used');
    }
    expect(handlerRuns).toBe(1);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey) - payee).toBe(PRICE);
  });

  it('a takeover attributes the landed transaction only to a payload with the same message', async () => {
    const accepted = await offer();
    const [first, second] = await resignedCopies(accepted, 2);
    if (!first || !second) throw new Error('no copies');
    const ctx = { request: { method: 'GET', url: `${BASE}/report`, bodyHash: '' }, now: Date.now(), paymentId: 'x' };
    const settled = await rail.settle(payloadOf(first), accepted, ctx);
    expect(settled.status).toBe('settled');
    if (settled.status !== 'settled' || !('findSettlement' in rail) || typeof rail.findSettlement !== 'function')
      throw new Error('no settlement');
    // The other copy IS that payment (same message, same id): it finds the same transaction.
    expect(await rail.findSettlement(payloadOf(second), accepted, ctx)).toMatchObject({
      reference: settled.reference,
      amount: PRICE.toString(),
    });
    // Another message by the same payer (fresh memo) never claims it.
    const other = await unsignedPayment(devnet, accepted, devnet.keypairs.payer.publicKey);
    other.sign([devnet.keypairs.payer]);
    expect(await rail.findSettlement(payloadOf(other), accepted, ctx)).toBeUndefined();
  });
});
