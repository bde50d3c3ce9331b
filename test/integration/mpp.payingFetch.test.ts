import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { NoAcceptableOfferError, payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { PRICE, walletFor } from '../support/evmHarness';
import { flowPaywall, payerPayeeBalances } from '../adversary/support/evmFlow';

/**
 * Issue 16, client: payingFetch pays our paywall's MPP challenge with the same adapter, wallet, policy and budget
 * as its x402 offer; a 402 offering both is paid once, in the preferred protocol; Accept-Payment is sent when set.
 */

let devnet: EvmDevnet;
let fetchPaywall: FetchLike;
const seen: (string | null)[] = [];

beforeAll(async () => {
  devnet = await startEvmDevnet();
  ({ fetch: fetchPaywall } = await flowPaywall(
    devnet,
    { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
    async () => new Response('report'),
  ));
});
afterAll(async () => {
  await devnet?.stop();
});

const recording: FetchLike = async (input, init) => {
  seen.push(new Headers(init?.headers).get('Accept-Payment'));
  return fetchPaywall(input, init);
};
const client = (
  options: { protocols?: readonly ('x402' | 'mpp')[]; acceptPayment?: string; maxPerRequest?: bigint } = {},
) =>
  payingFetch(recording, {
    adapters: [evmEip3009Client({ domains: [devnet.token] })],
    wallets: [walletFor(devnet, 'payer')],
    ...(options.protocols ? { protocols: options.protocols } : {}),
    ...(options.acceptPayment ? { acceptPayment: options.acceptPayment } : {}),
    ...(options.maxPerRequest !== undefined
      ? { policy: { maxPerRequest: { [devnet.token.address]: options.maxPerRequest } } }
      : {}),
  });

describe('payingFetch over MPP (our paywall, anvil)', () => {
  it('pays the Payment challenge when MPP is preferred: one payment, our signed receipt checked (protocol mpp), Accept-Payment sent', async () => {
    const before = await payerPayeeBalances(devnet);
    seen.length = 0;
    const res = await client({ protocols: ['mpp', 'x402'], acceptPayment: 'evm/charge' })('http://shop.test/report');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('report');
    const outcome = receiptOf(res);
    expect(outcome).toMatchObject({ protocol: 'mpp', receiptSource: 'server', receiptCheck: 'signature' });
    expect(outcome?.receiptError).toBeUndefined();
    expect(outcome?.receipt).toMatchObject({
      protocol: 'mpp',
      amount: PRICE.toString(),
      payer: devnet.accounts.payer.address,
    });
    const after = await payerPayeeBalances(devnet);
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    // The 402 request and the paid retry (the JWKS fetch after them is not a payment request).
    expect(seen.slice(0, 2)).toEqual(['evm/charge', 'evm/charge']);
  });

  it('pays x402 by default, once, though the same 402 offers MPP too', async () => {
    const before = await payerPayeeBalances(devnet);
    const res = await client()('http://shop.test/report');
    expect(res.status).toBe(200);
    expect(receiptOf(res)).toMatchObject({ protocol: 'x402', receipt: { protocol: 'x402' } });
    expect(before.payer - (await payerPayeeBalances(devnet)).payer).toBe(PRICE);
  });

  it('the policy judges MPP offers as any offer: over the per-request cap, nothing is paid in either protocol', async () => {
    const before = await payerPayeeBalances(devnet);
    await expect(
      client({ protocols: ['mpp'], maxPerRequest: PRICE - 1n })('http://shop.test/report'),
    ).rejects.toBeInstanceOf(NoAcceptableOfferError);
    expect(await payerPayeeBalances(devnet)).toEqual(before);
  });
});
