/**
 * Batched EIP-3009 settlement (`evmEip3009Server({ batch })`) on anvil, through the devnet's own batch-call
 * contract (Multicall3-compatible `aggregate3`, installed at Multicall3's address).
 *
 * Guarantees: concurrent payments go out as one transaction and each settles exactly once (sending them all again
 * moves nothing more); one bad authorization in a batch (nonce reused by another authorization, expired, signed by
 * someone else, payer without funds) does not sink the others: the good ones settle, each bad one is refused with
 * its own reason, and balances move by exactly the good ones; a batched payment is found on chain by
 * `findSettlement` (recovery after a crash). Balances are read from the chain every time.
 */
import { randomBytes } from 'node:crypto';
import { getAddress, toHex, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evmEip3009Client,
  evmEip3009Server,
  evmWallet,
  MULTICALL3_ADDRESS,
  type Eip3009Payload,
} from '../../adapters/evm/index';
import { batchCallSourceHash } from '../../fixtures/evm/compileBatchCall';
import { batchCallArtifact, startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import type { FindSettlementRail, PaymentRequirements } from '../../src/index';
import { PRICE } from '../support/evmHarness';
import { flowPaywall, offerOf, paymentHeader, receiptIn } from './support/evmFlow';

let devnet: EvmDevnet;
let rail: FindSettlementRail;
let req: PaymentRequirements;
const binding = {
  method: 'GET',
  url: 'http://shop.test/batch',
  bodyHash: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU',
};
/** A settle context (the paywall's claim is not under test here). */
const ctx = (paymentId = 'test') => ({ request: binding, now: Date.now(), paymentId });

beforeAll(async () => {
  devnet = await startEvmDevnet();
  rail = batchedRail(devnet);
  req = await rail.quote(
    { rail: rail.id, amount: PRICE },
    { request: binding, resource: { url: binding.url }, now: Date.now() },
  );
});
afterAll(async () => {
  await devnet?.stop();
});

/** The EIP-3009 rail settling in batches of up to 32 within 20 ms. */
function batchedRail(d: EvmDevnet): FindSettlementRail {
  return evmEip3009Server({
    publicClient: d.publicClient,
    walletClient: d.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
    chainId: d.chainId,
    token: d.token,
    payTo: d.accounts.payee.address,
    batch: { multicall: MULTICALL3_ADDRESS, maxSize: 32, windowMs: 20 },
  });
}

type Named = 'payer' | 'payer2' | 'poor';

/** An EIP-3009 payment for `req` from a devnet account (or signed by `signer` instead, claiming `from`). */
async function payment(from: Named, overrides: Partial<Eip3009Payload['authorization']> = {}, signer?: Named) {
  const wallet = evmWallet(privateKeyToAccount(devnet.accounts[signer ?? from].privateKey as Hex), {
    publicClient: devnet.publicClient,
  });
  const payload = await evmEip3009Client().createPayment(req, wallet, {
    resource: { url: 'http://shop.test/batch' },
    x402Version: 2,
    now: Date.now(),
  });
  if (Object.keys(overrides).length === 0 && !signer) return payload;
  // Re-sign the changed authorization with the signer's key (a wrong signer makes a bad signature for `from`).
  const authorization = { ...(payload.authorization as Eip3009Payload['authorization']), ...overrides };
  if (signer) authorization.from = getAddress(devnet.accounts[from].address);
  const account = privateKeyToAccount(devnet.accounts[signer ?? from].privateKey as Hex);
  const signature = await account.signTypedData({
    domain: {
      name: devnet.token.name,
      version: devnet.token.version,
      chainId: devnet.chainId,
      verifyingContract: devnet.token.address,
    },
    types: {
      TransferWithAuthorization: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType: 'TransferWithAuthorization',
    message: {
      from: authorization.from,
      to: authorization.to,
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
      nonce: authorization.nonce,
    },
  });
  return { authorization, signature };
}

async function balances(): Promise<{ payer: bigint; payer2: bigint; payee: bigint }> {
  const [payer, payer2, payee] = await Promise.all([
    devnet.balanceOf(devnet.accounts.payer.address),
    devnet.balanceOf(devnet.accounts.payer2.address),
    devnet.balanceOf(devnet.accounts.payee.address),
  ]);
  return { payer, payer2, payee };
}

describe('batched EIP-3009 settlement (one aggregate3 transaction, allow-failure)', () => {
  it('the committed batch-call artifact is compiled from the committed source, and the devnet has it installed', async () => {
    expect(batchCallArtifact.sourceHash).toBe(batchCallSourceHash());
    const code = await devnet.publicClient.getCode({ address: MULTICALL3_ADDRESS });
    expect(code).toBe(batchCallArtifact.deployedBytecode);
  });

  it('12 concurrent paid requests through the paywall: one or few transactions, each payment settled exactly once; sent again, nothing more moves', async () => {
    const url = 'http://shop.test/batch';
    const routes = { 'GET /batch': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
    const { fetch } = await flowPaywall(devnet, routes, async () => Response.json({ ok: true }), {
      rails: [batchedRail(devnet)],
    });
    const offer = await offerOf(fetch, url);
    const headers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => paymentHeader(devnet, offer, url, i % 2 ? 'payer2' : 'payer')),
    );
    const start = await balances();
    const responses = await Promise.all(headers.map((h) => fetch(url, { headers: { 'PAYMENT-SIGNATURE': h } })));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    const references = responses.map((r) => receiptIn(r)?.reference);
    const transactions = new Set(references);
    expect(transactions.size).toBeLessThan(12); // batched: fewer transactions than payments
    for (const hash of transactions) {
      const receipt = await devnet.publicClient.getTransactionReceipt({ hash: hash as Hex });
      expect(receipt.status).toBe('success');
      expect(getAddress(receipt.to ?? '0x')).toBe(getAddress(MULTICALL3_ADDRESS));
    }
    const end = await balances();
    expect(end.payee - start.payee).toBe(12n * PRICE);
    expect(start.payer - end.payer).toBe(6n * PRICE);
    expect(start.payer2 - end.payer2).toBe(6n * PRICE);

    // The same 12 payments again, concurrently: each answered from its settlement, nothing moves.
    const again = await Promise.all(headers.map((h) => fetch(url, { headers: { 'PAYMENT-SIGNATURE': h } })));
    for (const r of again) await r.body?.cancel();
    expect((await balances()).payee).toBe(end.payee);
  });

  it('bad authorizations in one batch (nonce reused, expired, wrong signer, no funds): the good ones settle, each bad one is refused with its reason, balances exact', async () => {
    const good = await Promise.all([payment('payer'), payment('payer2'), payment('payer'), payment('payer2')]);
    const first = good[0];
    if (!first) throw new Error('no payment');
    const now = BigInt(Math.floor(Date.now() / 1000));
    const firstAuth = first.authorization as Eip3009Payload['authorization'];
    const bad = {
      // same nonce as a good payment of the same batch, other terms: the token takes only the first
      reused: await payment('payer', { nonce: firstAuth.nonce, value: (PRICE * 2n).toString() }),
      expired: await payment('payer2', { validAfter: '0', validBefore: (now - 5n).toString() }),
      wrongSigner: await payment('payer', {}, 'payer2'),
      noFunds: await payment('poor'),
    };
    const start = await balances();
    const settleOf = (payload: Record<string, unknown>) => rail.settle(payload, req, ctx());
    const [goodOutcomes, badOutcomes] = await Promise.all([
      Promise.all(good.map(settleOf)),
      Promise.all(Object.values(bad).map(settleOf)),
    ]);
    const badByName = Object.fromEntries(Object.keys(bad).map((name, i) => [name, badOutcomes[i]]));

    for (const outcome of goodOutcomes) expect(outcome.status, JSON.stringify(outcome)).toBe('settled');
    expect(new Set(goodOutcomes.map((o) => (o.status === 'settled' ? o.reference : undefined))).size).toBe(1);
    expect(badByName.reused).toMatchObject({ status: 'failed', reason: 'nonce_used' });
    expect(badByName.expired).toMatchObject({ status: 'failed', reason: 'expired' });
    expect(badByName.wrongSigner).toMatchObject({ status: 'failed', reason: 'invalid_signature' });
    expect(badByName.noFunds).toMatchObject({ status: 'failed', reason: 'insufficient_funds' });

    const end = await balances();
    expect(end.payee - start.payee).toBe(4n * PRICE);
    expect(start.payer - end.payer).toBe(2n * PRICE);
    expect(start.payer2 - end.payer2).toBe(2n * PRICE);
  });

  it('a batched payment is found on chain by findSettlement (crash recovery), and settling it again answers that transaction', async () => {
    const payloads = await Promise.all([payment('payer'), payment('payer2'), payment('payer')]);
    const outcomes = await Promise.all(payloads.map((p) => rail.settle(p, req, ctx())));
    const start = await balances();
    for (const [i, p] of payloads.entries()) {
      const settled = outcomes[i];
      if (settled?.status !== 'settled') throw new Error(`not settled: ${JSON.stringify(settled)}`);
      const found = await rail.findSettlement?.(p, req);
      expect(found?.reference).toBe(settled.reference);
      const again = await rail.settle(p, req, ctx());
      expect(again).toMatchObject({ status: 'settled', reference: settled.reference });
    }
    expect((await balances()).payee).toBe(start.payee);
    // An authorization never sent is not found.
    const unsent = await payment('payer', { nonce: toHex(randomBytes(32)) });
    expect(await rail.findSettlement?.(unsent, req)).toBeUndefined();
  });
});
