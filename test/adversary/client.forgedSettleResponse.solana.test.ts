/**
 * Attack (#12 finding 11, Solana, library side): a plain x402 server (one that signs no receipt of ours) answers
 * the paid request 200 with a forged SettleResponse: `success: true` and a transaction signature that does not
 * exist, or that of a real transaction that moved nothing of this payer. It never settles the payment.
 *
 * Guarantee: the client checks a settle-response receipt on chain (the signature landed and moved the amount of
 * the mint from this wallet to payTo): a forged one is reported as `receiptError` with the reason, never as
 * `receipt`; an honest one is `receiptCheck: 'on_chain'`. No money moved for the forged ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePaymentSignatureHeader,
  encodePaymentResponseHeader,
  payingFetch,
  receiptOf,
  type FetchLike,
  type ServerRail,
} from '../../src/index';
import { solanaExactClient } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { EMPTY_BODY_HASH } from '../../src/server/readBinding';
import { SOL_PRICE, solanaPaywall, solanaWalletFor } from '../support/solanaHarness';

const BASE = 'http://shop.test';
let devnet: SolanaDevnet;
let honest: FetchLike;
let rail: ServerRail;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  ({ fetch: honest, rail } = await solanaPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

/** A plain x402 server: the genuine challenge; on the paid retry, 200 with `transaction` from `answer` (it may settle first). */
function plainServer(
  answer: (payment: {
    accepted: Parameters<ServerRail['settle']>[1];
    payload: Record<string, unknown>;
  }) => Promise<string>,
): FetchLike {
  return async (input, init) => {
    const request = new Request(input, init);
    const header = request.headers.get('PAYMENT-SIGNATURE');
    if (header === null) return honest(request.url);
    const { accepted, payload } = decodePaymentSignatureHeader(header);
    const transaction = await answer({ accepted, payload });
    return new Response('{"report":"…"}', {
      status: 200,
      headers: {
        'PAYMENT-RESPONSE': encodePaymentResponseHeader({ success: true, transaction, network: accepted.network }),
      },
    });
  };
}

async function settleForReal(p: {
  accepted: Parameters<ServerRail['settle']>[1];
  payload: Record<string, unknown>;
}): Promise<string> {
  const ctx = {
    request: { method: 'GET', url: `${BASE}/paid/sol`, bodyHash: EMPTY_BODY_HASH },
    now: Date.now(),
    paymentId: rail.paymentId(p.payload, p.accepted),
  };
  const settled = await rail.settle(p.payload, p.accepted, ctx);
  if (settled.status !== 'settled') throw new Error(`settle: ${settled.status}`);
  return settled.reference;
}

const payerBalance = () => devnet.tokenBalance(devnet.keypairs.payer.publicKey);
const payWith = (server: FetchLike) =>
  payingFetch(server, { adapters: [solanaExactClient()], wallets: [solanaWalletFor(devnet, 'payer')] })(
    `${BASE}/paid/sol`,
  );

describe('forged SettleResponse from a plain x402 server (Solana, litesvm devnet)', () => {
  it('control: an honest settlement is checked on chain', async () => {
    const before = payerBalance();
    const outcome = receiptOf(await payWith(plainServer(settleForReal)));
    expect(outcome).toMatchObject({
      receiptSource: 'settle-response',
      receiptCheck: 'on_chain',
      receipt: { amount: SOL_PRICE.toString() },
    });
    expect(outcome?.receiptError).toBeUndefined();
    expect(before - payerBalance()).toBe(SOL_PRICE);
  });

  it('a signature that never landed: receiptError not_found, no receipt, nothing moved', async () => {
    const before = payerBalance();
    const outcome = receiptOf(await payWith(plainServer(async () => '5'.repeat(87))));
    expect(outcome?.receipt).toBeUndefined();
    expect(outcome?.receiptError).toMatchObject({ name: 'ReceiptInvalidError', details: { reason: 'not_found' } });
    expect(payerBalance()).toBe(before);
  });

  it('the signature of an earlier real payment of another payer: receiptError transfer_mismatch, nothing moved', async () => {
    let earlier = '';
    const other = payingFetch(
      plainServer(async (p) => (earlier = await settleForReal(p))),
      { adapters: [solanaExactClient()], wallets: [solanaWalletFor(devnet, 'payer2')] },
    );
    expect(receiptOf(await other(`${BASE}/paid/sol`))?.receiptCheck).toBe('on_chain');
    const before = payerBalance();
    const outcome = receiptOf(await payWith(plainServer(async () => earlier)));
    expect(outcome?.receipt).toBeUndefined();
    expect(outcome?.receiptError).toMatchObject({
      name: 'ReceiptInvalidError',
      details: { reason: 'transfer_mismatch', reference: earlier },
    });
    expect(payerBalance()).toBe(before);
  });
});
