/**
 * Attack: a payment that verifies but can never settle buys free handler runs. The transfer authority is a
 * small-order Ed25519 public key (the identity point) and its "signature" is R = identity, s = 0, which a
 * cofactorless verifier without small-order checks (OpenSSL, Node's crypto.verify) accepts for any message.
 * The attacker funds that key's token account once; with simulation run without signature checks the
 * payment passes verify, the handler runs, and settlement fails on chain (the runtime verifies strictly) —
 * the same payload again and again.
 *
 * Guarantee: verify checks Ed25519 as the Solana runtime does (ed25519-dalek verify_strict) and simulates the
 * fee-payer-co-signed transaction with signature verification: the forged payment is refused at verify with
 * 402 `invalid_signature`, 20 times in a row, the handler never runs, and no lamport or token moves. A
 * malleated signature (s + L) of a genuine payer is refused the same way.
 */
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import { coSign, simulatePayment, solanaExactServer } from '../../adapters/solana/index';
import { ed25519Sign, ed25519Verify } from '../../adapters/solana/ed25519';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import {
  SMALL_ORDER_KEY,
  forgedSmallOrderSignature,
  fundTokenOwner,
  payloadOf,
  unsignedPayment,
  withSignature,
} from '../support/solanaAdversary';

const BASE = 'http://shop.test';
const PRICE = 10_000n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
let devnet: SolanaDevnet;
let serve: FetchLike;
let handlerRuns = 0;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  const connection = new Connection(devnet.rpcUrl, 'confirmed');
  const rail = solanaExactServer({
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
  await fundTokenOwner(devnet, SMALL_ORDER_KEY, PRICE);
});
afterAll(async () => {
  await devnet?.stop();
});

async function offer(): Promise<PaymentRequirements> {
  const res = await serve(`${BASE}/report`);
  const accepted = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  if (!accepted) throw new Error('no offer');
  return accepted;
}

const reasonOf = (res: Response) => decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error;
const pay = (accepted: PaymentRequirements, payload: { transaction: string }) =>
  serve(`${BASE}/report`, {
    headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted, payload }) },
  });

async function snapshot() {
  return {
    feePayer: await devnet.connection.getBalance(devnet.keypairs.feePayer.publicKey),
    payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey),
    attacker: devnet.tokenBalance(SMALL_ORDER_KEY),
  };
}

describe('Solana: a forged signature for a small-order key', () => {
  it('is refused at verify with invalid_signature 20 times: 0 handler runs, nothing moves', async () => {
    const accepted = await offer();
    const tx = await unsignedPayment(devnet, accepted, SMALL_ORDER_KEY);
    const forged = withSignature(tx, SMALL_ORDER_KEY, forgedSmallOrderSignature());
    // The attack is real: OpenSSL accepts the forgery over this very message.
    const laxKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(SMALL_ORDER_KEY.toBytes()).toString('base64url') },
      format: 'jwk',
    });
    expect(opensslVerify(null, tx.message.serialize(), laxKey, forgedSmallOrderSignature())).toBe(true);
    // Both layers refuse it on their own: the strict signature check, and the simulation with sigVerify.
    expect(ed25519Verify(SMALL_ORDER_KEY, tx.message.serialize(), forgedSmallOrderSignature())).toBe(false);
    expect(await simulatePayment(devnet.connection, coSign(forged, devnet.keypairs.feePayer).signed)).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
    expect(devnet.tokenBalance(SMALL_ORDER_KEY)).toBe(PRICE);

    const before = await snapshot();
    handlerRuns = 0;
    for (let i = 0; i < 20; i += 1) {
      const res = await pay(accepted, payloadOf(forged));
      expect(res.status).toBe(402);
      expect(reasonOf(res)).toBe('invalid_signature');
      expect(res.headers.get('PAYMENT-RESPONSE')).toBeNull();
    }
    expect(handlerRuns).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('a malleated signature of a genuine payer (s + L) is refused; the genuine one is served once', async () => {
    const accepted = await offer();
    const { payer } = devnet.keypairs;
    const tx = await unsignedPayment(devnet, accepted, payer.publicKey);
    tx.sign([payer]);
    const genuine = tx.signatures[1] ?? new Uint8Array(64);
    const malleated = Uint8Array.from(genuine);
    let s = 0n;
    for (let i = 63; i >= 32; i -= 1) s = (s << 8n) | BigInt(genuine[i] ?? 0);
    s += L;
    for (let i = 32; i < 64; i += 1) {
      malleated[i] = Number(s & 0xffn);
      s >>= 8n;
    }
    expect(ed25519Verify(payer.publicKey, tx.message.serialize(), malleated)).toBe(false);
    const before = await snapshot();
    handlerRuns = 0;
    const refused = await pay(accepted, payloadOf(withSignature(tx, payer.publicKey, malleated)));
    expect(refused.status).toBe(402);
    expect(reasonOf(refused)).toBe('invalid_signature');
    expect(handlerRuns).toBe(0);
    expect(await snapshot()).toEqual(before);
    const served = await pay(accepted, payloadOf(tx));
    expect(served.status).toBe(200);
    expect(handlerRuns).toBe(1);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey) - before.payee).toBe(PRICE);
  });

  it('simulation runs with signature verification: a bad payer signature fails it as on a cluster (-32003)', async () => {
    const accepted = await offer();
    const { payer, payer2, feePayer } = devnet.keypairs;
    // The payer's slot holds payer2's signature of the message: well formed, wrong key.
    const tx = await unsignedPayment(devnet, accepted, payer.publicKey);
    const wrong = withSignature(tx, payer.publicKey, ed25519Sign(payer2, tx.message.serialize()));
    expect(await simulatePayment(devnet.connection, coSign(wrong, feePayer).signed)).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
    const good = await unsignedPayment(devnet, accepted, payer.publicKey);
    good.sign([payer]);
    expect(await simulatePayment(devnet.connection, coSign(good, feePayer).signed)).toEqual({ ok: true });
  });
});
