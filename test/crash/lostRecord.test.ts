/**
 * A store that lost a settled payment's record (a Redis primary failed over before its replica had it, a wiped
 * store): the payer's retry finds no record, claims afresh, and verify sees the payment spent on the chain. The
 * receipt of money that moved is never lost: the paywall finds the settlement on the chain (`findSettlement`), records
 * it and attaches its receipt to the refusal. One payment, one service still holds: the payment is not served again,
 * on that retry or any later one. A spent payment the rail cannot tie to this offer (another signature) gets no receipt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMemoryPaymentStore,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  RECEIPT_EXTENSION_KEY,
  SignedReceiptSchema,
} from '../../src/index';
import { evmEip3009Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { evmPaywall, PRICE, walletFor } from '../support/evmHarness';

let evm: EvmDevnet;
beforeAll(async () => {
  evm = await startEvmDevnet();
});
afterAll(async () => {
  await evm?.stop();
});

const reasonOf = (res: Response) =>
  decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error ?? `status ${res.status}`;

describe('a settled payment whose record the store lost', () => {
  it('gets its receipt back from the chain on the retry, and is never served again', async () => {
    const challengeSecret = crypto.getRandomValues(new Uint8Array(32));
    const url = 'http://lost.test/paid/3009';
    const first = await evmPaywall(evm, { store: createMemoryPaymentStore(), challengeSecret });
    const [offer] = decodePaymentRequiredHeader((await first.fetch(url)).headers.get('PAYMENT-REQUIRED') ?? '').accepts;
    if (!offer) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, walletFor(evm, 'payer'), {
      resource: { url },
      x402Version: 2,
      now: Date.now(),
    });
    const header = encodePaymentSignatureHeader({ x402Version: 2, resource: { url }, accepted: offer, payload });
    const paid = await first.fetch(url, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(paid.status).toBe(200);
    const settled = decodePaymentResponseHeader(paid.headers.get('PAYMENT-RESPONSE') ?? '');
    const payerBefore = await evm.balanceOf(evm.accounts.payer.address);

    // The same paywall (same secret) over a store that lost everything.
    const store = createMemoryPaymentStore();
    const forgetful = await evmPaywall(evm, { store, challengeSecret });
    const retry = await forgetful.fetch(url, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(retry.status).toBe(402);
    expect(reasonOf(retry)).toBe('nonce_used');
    const recovered = decodePaymentResponseHeader(retry.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(recovered).toMatchObject({ success: true, transaction: settled.transaction, payer: settled.payer });
    const receipt = SignedReceiptSchema.parse(recovered.extensions?.[RECEIPT_EXTENSION_KEY]);
    expect(receipt).toMatchObject({ reference: settled.transaction, amount: PRICE.toString(), status: 'settled' });
    const [record] = (await store.listSettled()).map((s) => s.record);
    expect(record).toMatchObject({ state: 'settled', requestKey: '' });
    expect(record?.receipt.id).toBe(receipt.id);

    // Again: the same receipt, still no service; nothing moved.
    const again = await forgetful.fetch(url, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(again.status).toBe(402);
    expect(await again.text()).not.toContain('"ok":true');
    expect(await evm.balanceOf(evm.accounts.payer.address)).toBe(payerBefore);
  });

  it('a spent authorization presented with another signature gets no receipt', async () => {
    const challengeSecret = crypto.getRandomValues(new Uint8Array(32));
    const url = 'http://lost.test/paid/3009';
    const first = await evmPaywall(evm, { store: createMemoryPaymentStore(), challengeSecret });
    const [offer] = decodePaymentRequiredHeader((await first.fetch(url)).headers.get('PAYMENT-REQUIRED') ?? '').accepts;
    if (!offer) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, walletFor(evm, 'payer2'), {
      resource: { url },
      x402Version: 2,
      now: Date.now(),
    });
    const header = (p: typeof payload) =>
      encodePaymentSignatureHeader({ x402Version: 2, resource: { url }, accepted: offer, payload: p });
    expect((await first.fetch(url, { headers: { 'PAYMENT-SIGNATURE': header(payload) } })).status).toBe(200);
    const forgetful = await evmPaywall(evm, { store: createMemoryPaymentStore(), challengeSecret });
    const forged = { ...payload, signature: `0x${'11'.repeat(64)}1b` };
    const res = await forgetful.fetch(url, { headers: { 'PAYMENT-SIGNATURE': header(forged) } });
    expect(res.status).toBe(402);
    expect(res.headers.get('PAYMENT-RESPONSE')).toBeNull();
  });
});
