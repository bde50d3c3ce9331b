/**
 * A claim taken over from an attempt that died mid-settlement asks the rail whether the payment already
 * landed. The EIP-3009 payment id is (from, nonce), so anyone who saw a payer's authorization could present
 * it with a forged signature under a fresh challenge of their own: the lookup must answer only for a payment
 * the payer signed, or the stranger is served on the payer's money (and the payer's own retry is refused as
 * "already used"). The payer's own retry is served through the same takeover (settlementCrash.test.ts).
 */
import { encodeFunctionData, parseSignature } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMemoryPaymentStore,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  hashCanonical,
} from '../../src/index';
import { Eip3009PayloadSchema, evmEip3009Client, evmEip3009Server } from '../../adapters/evm/index';
import { exactTokenAbi } from '../../adapters/evm/abi';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { evmPaywall, walletFor } from '../support/evmHarness';

let evm: EvmDevnet;

beforeAll(async () => {
  evm = await startEvmDevnet();
});
afterAll(async () => {
  await evm?.stop();
});

describe('takeover of a dead claim (EIP-3009)', () => {
  it("a forged signature over a landed authorization is refused, not served on the payer's money", async () => {
    const store = createMemoryPaymentStore();
    // A long lease: the payer's retry below must not have to wait for the stranger's claim to run out.
    const { fetch } = await evmPaywall(evm, { store, settleLeaseMs: 60_000 });
    const url = 'http://takeover.test/paid/3009';
    const challenge = async () => {
      const [offer] = decodePaymentRequiredHeader((await fetch(url)).headers.get('PAYMENT-REQUIRED') ?? '').accepts;
      if (!offer) throw new Error('no offer');
      return offer;
    };
    const offer = await challenge();
    const payload = await evmEip3009Client().createPayment(offer, walletFor(evm, 'payer'), {
      resource: { url },
      x402Version: 2,
      now: Date.now(),
    });
    const { authorization: a, signature } = Eip3009PayloadSchema.parse(payload);

    // The payer's attempt died after its broadcast: its claim is left in flight and the transfer landed.
    const rail = evmEip3009Server({
      publicClient: evm.publicClient,
      walletClient: evm.walletClientFor('facilitator'),
      chainId: evm.chainId,
      token: evm.token,
      payTo: evm.accounts.payee.address,
    });
    await store.claim(`${rail.id}:${rail.paymentId(payload, offer)}`, hashCanonical({ method: 'GET', url }), 1);
    const { v, r, s } = parseSignature(signature);
    const data = encodeFunctionData({
      abi: exactTokenAbi,
      functionName: 'transferWithAuthorization',
      args: [a.from, a.to, BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce, Number(v), r, s],
    });
    const hash = await evm.walletClientFor('facilitator').sendTransaction({ to: evm.token.address, data });
    expect((await evm.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
    await new Promise((resolve) => setTimeout(resolve, 60)); // the dead claim's lease runs out

    // A stranger presents the same authorization with a signature of their own under a fresh challenge.
    const forged = { ...payload, signature: `0x${'11'.repeat(64)}1b` };
    const stranger = await fetch(url, {
      headers: {
        'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
          x402Version: 2,
          resource: { url },
          accepted: await challenge(),
          payload: forged,
        }),
      },
    });
    expect(stranger.status).toBe(402);
    expect(stranger.headers.get('PAYMENT-RESPONSE')).toBeNull();
    await stranger.body?.cancel();

    // The stranger's refusal does not free the payment as if it had never been taken: the claim is left to be
    // taken over at once, and the payer's own retry takes it, finds the landed transfer, and gets its receipt.
    const retry = await fetch(url, {
      headers: {
        'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
          x402Version: 2,
          resource: { url },
          accepted: offer,
          payload,
        }),
      },
    });
    expect(retry.status).toBe(200);
    const settle = decodePaymentResponseHeader(retry.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(settle).toMatchObject({ success: true, transaction: hash });
  });
});
