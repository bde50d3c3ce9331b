/**
 * Attack (on the client): a plain x402 server answers a Solana payment with 200 and a SettleResponse naming
 * an EARLIER transaction of the same amount from this wallet to the same payee (say, the client's previous
 * payment). The on-chain check of amount, payer and payee passes for that old transaction, so the client
 * would file an `on_chain` receipt for a payment the server never settled (it may land it later, or never:
 * either way the receipt proves nothing about this payment).
 *
 * Guarantee: the Solana client checks that the reported transaction carries the very message it signed for
 * this offer. The stale reference is refuted (`receiptError`, no `on_chain` check); an honest server's
 * reference of this payment is `on_chain`.
 */
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ReceiptInvalidError,
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  payingFetch,
  receiptOf,
  type FetchLike,
  type PaymentRequirements,
  type ServerRail,
} from '../../src/index';
import { solanaExactClient, solanaExactServer } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { solanaWalletFor } from '../support/solanaHarness';

const URL_ = 'http://plain.test/report';
const PRICE = 10_000n;
let devnet: SolanaDevnet;
let rail: ServerRail;
const ctx = { request: { method: 'GET', url: URL_, bodyHash: '' }, now: Date.now(), paymentId: 'x' };

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  rail = solanaExactServer({
    connection: new Connection(devnet.rpcUrl, 'confirmed'),
    network: devnet.network,
    feePayer: devnet.keypairs.feePayer,
    mints: devnet.mint,
    payTo: devnet.keypairs.payee.publicKey,
    pollIntervalMs: 20,
  });
});
afterAll(async () => {
  await devnet?.stop();
});

const quote = () =>
  rail.quote({ rail: 'solana-spl', amount: PRICE }, { request: ctx.request, resource: { url: URL_ }, now: Date.now() });

/** A plain x402 server (no receipts of its own) that answers every payment with `report(payload, offer)`. */
function plainServer(
  report: (payload: Record<string, unknown>, offer: PaymentRequirements) => Promise<string>,
): FetchLike {
  return async (input, init) => {
    const request = new Request(input, init);
    const header = request.headers.get('PAYMENT-SIGNATURE');
    if (header === null) {
      const offer = await quote();
      return new Response(null, {
        status: 402,
        headers: {
          'PAYMENT-REQUIRED': encodePaymentRequiredHeader({
            x402Version: 2,
            resource: { url: URL_ },
            accepts: [offer],
          }),
        },
      });
    }
    const payment = decodePaymentSignatureHeader(header);
    const transaction = await report(payment.payload, payment.accepted);
    const settle = encodePaymentResponseHeader({
      success: true,
      transaction,
      network: devnet.network,
      payer: devnet.keypairs.payer.publicKey.toBase58(),
    });
    return Response.json({ report: 'secret' }, { headers: { 'PAYMENT-RESPONSE': settle } });
  };
}

describe('Solana client: a settlement reference of an earlier payment', () => {
  it('is refuted: not the transaction this wallet signed for this offer', async () => {
    // The client's earlier payment, settled for real.
    const earlierOffer = await quote();
    const earlier = await solanaExactClient().createPayment(earlierOffer, solanaWalletFor(devnet, 'payer'), {
      resource: { url: URL_ },
      x402Version: 2,
      now: Date.now(),
    });
    const settled = await rail.settle(earlier, earlierOffer, ctx);
    if (settled.status !== 'settled') throw new Error('earlier payment did not settle');

    const payer = devnet.tokenBalance(devnet.keypairs.payer.publicKey);
    const pay = payingFetch(
      plainServer(async () => settled.reference),
      { adapters: [solanaExactClient()], wallets: [solanaWalletFor(devnet, 'payer')] },
    );
    const res = await pay(URL_);
    expect(res.status).toBe(200);
    const outcome = receiptOf(res);
    expect(outcome?.receiptCheck).not.toBe('on_chain');
    expect(outcome?.receiptError).toBeInstanceOf(ReceiptInvalidError);
    expect(outcome?.receiptError?.message).toMatch(/not the transaction this wallet signed/);
    // The stale server never settled this payment: nothing more left the wallet.
    expect(devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(payer);
  });

  it("an honest plain server's reference of this very payment is on_chain", async () => {
    const payer = devnet.tokenBalance(devnet.keypairs.payer.publicKey);
    const pay = payingFetch(
      plainServer(async (payload, offer) => {
        const result = await rail.settle(payload, offer, ctx);
        if (result.status !== 'settled') throw new Error(`not settled: ${result.status}`);
        return result.reference;
      }),
      { adapters: [solanaExactClient()], wallets: [solanaWalletFor(devnet, 'payer')] },
    );
    const res = await pay(URL_);
    expect(res.status).toBe(200);
    expect(receiptOf(res)?.receiptCheck).toBe('on_chain');
    expect(payer - devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(PRICE);
  });
});
