/**
 * Attack (#12 finding 5, EVM verify): a payment that verifies but can never settle. The attacker takes a valid
 * EIP-3009 authorization and sends its malleable twin: s' = n − s with the parity flipped. viem (and libsecp256k1)
 * recover the same signer from it, so before the fix it verified, the handler ran, and the token (OpenZeppelin
 * ECDSA: s must be ≤ n/2) reverted the settlement: a free handler run for every copy, the payee paid nothing.
 * The same holds for EIP-2612 permits, and for compact (EIP-2098) or odd-v signatures the token never takes.
 *
 * Guarantee: verify refuses exactly what the token refuses. The high-s copy (whose settlement the token itself
 * refuses on anvil) is answered 402 `non_canonical_signature` 20 times out of 20, the handler runs 0 times and no
 * balance moves; then the canonical authorization is served once and settles: payer −PRICE, payee +PRICE.
 * Own EVM devnet (balance assertions).
 */
import { encodeFunctionData, parseSignature, serializeSignature, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip2612Client, evmEip2612Server, exactTokenAbi, type Eip3009Payload } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { decodePaymentSignatureHeader, encodePaymentSignatureHeader, type PaymentRequirements } from '../../src/index';
import { PRICE, walletFor } from '../support/evmHarness';
import { flowPaywall, offerOf, paymentHeader, reasonOf, payerPayeeBalances } from './support/evmFlow';

const URL_ = 'http://shop.test/report';
const routes = { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

/** The malleable twin of a 65-byte signature: same r, s' = n − s, the other parity. Recovers the same signer. */
function highS(signature: Hex): Hex {
  const { r, s, yParity } = parseSignature(signature);
  const flipped = `0x${(N - BigInt(s)).toString(16).padStart(64, '0')}` as Hex;
  return serializeSignature({ r, s: flipped, yParity: yParity === 0 ? 1 : 0 });
}

const balances = () => payerPayeeBalances(devnet);

describe('malleable (high-s) and non-canonical signatures on anvil', () => {
  it('EIP-3009: the high-s copy is refused at verify 20 times (handler 0 runs, no balance moves); the canonical one then settles once', async () => {
    const runs = { count: 0 };
    const { fetch } = await flowPaywall(devnet, routes, async () => {
      runs.count++;
      return Response.json({ served: true });
    });
    const start = await balances();
    const header = await paymentHeader(devnet, await offerOf(fetch, URL_), URL_, 'payer');
    const payment = decodePaymentSignatureHeader(header);
    const payload = payment.payload as Eip3009Payload;
    const twin = { ...payload, signature: highS(payload.signature) };
    expect(BigInt(parseSignature(twin.signature).s)).toBeGreaterThan(N / 2n);

    // The premise: the token itself refuses the twin (so serving it could never be paid for).
    const a = twin.authorization;
    const { r, s, v } = parseSignature(twin.signature);
    const call = encodeFunctionData({
      abi: exactTokenAbi,
      functionName: 'transferWithAuthorization',
      args: [a.from, a.to, BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce, Number(v), r, s],
    });
    await expect(
      devnet.publicClient.call({ to: devnet.token.address, data: call, account: devnet.accounts.facilitator.address }),
    ).rejects.toThrow();

    const twinHeader = encodePaymentSignatureHeader({ ...payment, payload: twin });
    const reasons: Array<string | undefined> = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': twinHeader } });
      expect(res.status).toBe(402);
      reasons.push(await reasonOf(res));
    }
    expect(reasons).toEqual(Array.from({ length: 20 }, () => 'non_canonical_signature'));
    expect(runs.count).toBe(0);
    expect(await balances()).toEqual(start);

    const paid = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(paid.status).toBe(200);
    expect(runs.count).toBe(1);
    const end = await balances();
    expect(start.payer - end.payer).toBe(PRICE);
    expect(end.payee - start.payee).toBe(PRICE);
  });

  it('EIP-3009: compact (EIP-2098) and odd-v forms the token never takes are refused at verify, handler 0 runs', async () => {
    const runs = { count: 0 };
    const { fetch } = await flowPaywall(devnet, routes, async () => {
      runs.count++;
      return Response.json({ served: true });
    });
    const start = await balances();
    const header = await paymentHeader(devnet, await offerOf(fetch, URL_), URL_, 'payer');
    const payment = decodePaymentSignatureHeader(header);
    const payload = payment.payload as Eip3009Payload;
    const { r, s, yParity } = parseSignature(payload.signature);
    const compact = serializeSignature({ r, s, yParity, to: 'hex' }).slice(0, 130) as Hex; // r ‖ s only
    const yParityAndS =
      `0x${r.slice(2)}${((BigInt(yParity) << 255n) | BigInt(s)).toString(16).padStart(64, '0')}` as Hex; // EIP-2098
    const oddV = `${payload.signature.slice(0, 130)}1d` as Hex; // v = 29
    for (const signature of [compact, yParityAndS, oddV]) {
      const res = await fetch(URL_, {
        headers: {
          'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ ...payment, payload: { ...payload, signature } }),
        },
      });
      expect(res.status).toBe(402);
      expect(['non_canonical_signature', 'invalid_payload']).toContain(await reasonOf(res));
    }
    expect(runs.count).toBe(0);
    expect(await balances()).toEqual(start);
  });

  it('EIP-2612: a high-s permit is refused at verify (non_canonical_signature) and at the token; the canonical permit verifies', async () => {
    const rail = evmEip2612Server({
      publicClient: devnet.publicClient,
      walletClient: devnet.walletClientFor('facilitator'),
      pollingIntervalMs: 5,
      chainId: devnet.chainId,
      token: devnet.token,
      payTo: devnet.accounts.payee.address,
    });
    const ctx = { request: { method: 'GET', url: URL_, bodyHash: '' }, resource: { url: URL_ }, now: Date.now() };
    const req: PaymentRequirements = await rail.quote({ rail: rail.id, amount: PRICE }, ctx);
    const payload = await evmEip2612Client().createPayment(req, walletFor(devnet, 'payer2'), {
      resource: { url: URL_ },
      x402Version: 2,
      now: Date.now(),
    });
    const twin = { ...payload, signature: highS(payload['signature'] as Hex) };
    const verifyCtx = { request: ctx.request, now: Date.now(), paymentId: 'p' };
    expect(await rail.verify(twin, req, verifyCtx)).toMatchObject({
      isValid: false,
      reason: 'non_canonical_signature',
    });
    expect(await rail.verify(payload, req, verifyCtx)).toMatchObject({ isValid: true });
  });
});
