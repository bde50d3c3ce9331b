/**
 * Attack (#12 finding 10): the client verified a server receipt's signature but not what it binds. A server
 * answers a paid request with a GENUINE signed receipt of ANOTHER request (replayed from an earlier paid
 * request: other URL, other body, other offer), so the client presents a receipt of something else as the
 * verified receipt of this request.
 *
 * Guarantee: payingFetch takes a server receipt only when it binds THIS request (method, URL, body hash), the
 * offer it paid (requirements hash, network, asset, payee, amount) and is issued by the origin it paid; any
 * other is reported as `receiptError` (ReceiptInvalidError naming the field), never as `receipt`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { evmClients } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { PRICE, evmPaywall, walletFor } from '../support/evmHarness';

const BASE = 'http://shop.test';
let devnet: EvmDevnet;
let honest: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  ({ fetch: honest } = await evmPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

/** A server that serves honestly but swaps in the PAYMENT-RESPONSE of an earlier paid request. */
function replaying(recorded: string): FetchLike {
  return async (input, init) => {
    const res = await honest(input, init);
    if (!res.headers.has('PAYMENT-RESPONSE')) return res;
    const headers = new Headers(res.headers);
    headers.set('PAYMENT-RESPONSE', recorded);
    return new Response(res.body, { status: res.status, headers });
  };
}

async function recordedPaymentResponse(path: string, init?: RequestInit): Promise<string> {
  let recorded = '';
  const tap: FetchLike = async (input, i) => {
    const res = await honest(input, i);
    recorded = res.headers.get('PAYMENT-RESPONSE') ?? recorded;
    return res;
  };
  const res = await payingFetch(tap, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer2')] })(
    `${BASE}${path}`,
    init,
  );
  expect(res.status).toBe(200);
  expect(receiptOf(res)?.receiptCheck).toBe('signature');
  return recorded;
}

describe('a genuine receipt of another request, replayed by the server', () => {
  it.each<[string, string, RequestInit | undefined, string, RequestInit | undefined, string]>([
    ['another URL', '/paid/other', undefined, '/paid/3009', undefined, 'url'],
    [
      'the same URL, another body',
      '/paid/both',
      { method: 'POST', body: 'order 1' },
      '/paid/both',
      { method: 'POST', body: 'order 2' },
      'bodyHash',
    ],
  ])(
    '%s: reported as receiptError, never as the verified receipt',
    async (_label, fromPath, fromInit, path, init, field) => {
      const recorded = await recordedPaymentResponse(fromPath, fromInit);
      const before = await devnet.balanceOf(devnet.accounts.payer.address);
      const pay = payingFetch(replaying(recorded), { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
      const res = await pay(`${BASE}${path}`, init);
      expect(res.status).toBe(200);
      const outcome = receiptOf(res);
      expect(outcome?.receipt).toBeUndefined();
      expect(outcome?.signedReceipt).toBeUndefined();
      expect(outcome?.receiptCheck).toBeUndefined();
      expect(outcome?.receiptError).toMatchObject({
        name: 'ReceiptInvalidError',
        code: 'RECEIPT__INVALID',
        details: { field },
      });
      // this request was paid once, at the price
      expect(before - (await devnet.balanceOf(devnet.accounts.payer.address))).toBe(PRICE);
    },
  );

  it('control: the honest answer to the same request verifies and binds it', async () => {
    const pay = payingFetch(honest, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay(`${BASE}/paid/both`, { method: 'POST', body: 'order 3' });
    expect(receiptOf(res)).toMatchObject({
      receiptSource: 'server',
      receiptCheck: 'signature',
      receipt: { request: { method: 'POST', url: `${BASE}/paid/both` }, amount: PRICE.toString() },
    });
    expect(receiptOf(res)?.receiptError).toBeUndefined();
  });
});
