/**
 * Pipelined EVM settlement on anvil: the gas account's nonce is kept in the process, settlements are prepared
 * concurrently and sent without waiting for earlier receipts, and one watcher confirms them all.
 *
 * Guarantees: many concurrent payments each settle exactly once, one transaction each, with no nonce skipped or
 * reused (the gas account's nonce moves by exactly the number of payments), and sending them all again moves
 * nothing; a settlement transaction dropped from the node's pool is rebroadcast (same hash, so it cannot settle
 * twice) and the settlements signed after it, stuck behind its nonce, go through; a settlement whose nonce was taken
 * by another transaction of the gas account (replaced) is sent again with a fresh nonce and settles once, the
 * replaced hash never mined. Balances are read from the chain every time.
 */
import type { Hash, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client, evmWallet, exactTokenAbi, type Eip3009Payload } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import type { PaymentRequirements, ServerRail } from '../../src/index';
import { PRICE } from '../support/evmHarness';
import { eip3009Rail, flowPaywall, offerOf, paymentHeader, payerPayeeBalances, receiptIn } from './support/evmFlow';

let devnet: EvmDevnet;
let rail: ServerRail;
let req: PaymentRequirements;
const binding = {
  method: 'GET',
  url: 'http://shop.test/pipe',
  bodyHash: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU',
};

beforeAll(async () => {
  devnet = await startEvmDevnet();
  rail = eip3009Rail(devnet);
  req = await rail.quote(
    { rail: rail.id, amount: PRICE },
    { request: binding, resource: { url: binding.url }, now: Date.now() },
  );
});
afterEach(async () => {
  await devnet.testClient.setAutomine(true);
});
afterAll(async () => {
  await devnet?.stop();
});

async function payment(from: 'payer' | 'payer2' = 'payer') {
  const wallet = evmWallet(privateKeyToAccount(devnet.accounts[from].privateKey as Hex), {
    publicClient: devnet.publicClient,
  });
  return evmEip3009Client().createPayment(req, wallet, {
    resource: { url: binding.url },
    x402Version: 2,
    now: Date.now(),
  });
}

/** Settles `payload` and resolves `broadcast` with each hash it sends. */
function settleWatched(payload: Record<string, unknown>) {
  const hashes: Hash[] = [];
  let first: (hash: Hash) => void = () => {};
  const broadcast = new Promise<Hash>((resolve) => (first = resolve));
  const outcome = rail.settle(payload, req, {
    request: binding,
    now: Date.now(),
    paymentId: 'test',
    onBroadcast: async (reference) => {
      hashes.push(reference as Hash);
      first(reference as Hash);
    },
  });
  return { outcome, broadcast, hashes };
}

/** How many times the token logged this authorization as used (1 = settled once). */
async function timesUsed(payload: Record<string, unknown>): Promise<number> {
  const a = payload.authorization as Eip3009Payload['authorization'];
  const logs = await devnet.publicClient.getContractEvents({
    address: devnet.token.address,
    abi: exactTokenAbi,
    eventName: 'AuthorizationUsed',
    args: { authorizer: a.from, nonce: a.nonce },
    fromBlock: 0n,
  });
  return logs.length;
}

const gasNonce = () =>
  devnet.publicClient.getTransactionCount({ address: devnet.accounts.facilitator.address, blockTag: 'latest' });

describe('pipelined EVM settlement (local nonce, one receipt watcher)', () => {
  it('24 concurrent paid requests: each settled exactly once in its own transaction, the gas nonce moves by exactly 24; sent again, nothing more moves', async () => {
    const url = 'http://shop.test/pipe';
    const routes = { 'GET /pipe': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
    const { fetch } = await flowPaywall(devnet, routes, async () => Response.json({ ok: true }));
    const offer = await offerOf(fetch, url);
    const headers = await Promise.all(Array.from({ length: 24 }, () => paymentHeader(devnet, offer, url)));
    const start = await payerPayeeBalances(devnet);
    const nonceBefore = await gasNonce();

    const responses = await Promise.all(headers.map((h) => fetch(url, { headers: { 'PAYMENT-SIGNATURE': h } })));
    expect(responses.map((r) => r.status)).toEqual(Array(24).fill(200));
    const references = new Set(responses.map((r) => receiptIn(r)?.reference));
    expect(references.size).toBe(24);
    expect((await gasNonce()) - nonceBefore).toBe(24);
    const end = await payerPayeeBalances(devnet);
    expect(end.payee - start.payee).toBe(24n * PRICE);
    expect(start.payer - end.payer).toBe(24n * PRICE);

    const again = await Promise.all(headers.map((h) => fetch(url, { headers: { 'PAYMENT-SIGNATURE': h } })));
    for (const r of again) await r.body?.cancel();
    expect((await payerPayeeBalances(devnet)).payee).toBe(end.payee);
    expect((await gasNonce()) - nonceBefore).toBe(24);
  });

  it('a settlement dropped from the pool is rebroadcast with the same hash; the one signed after it (stuck behind its nonce) settles too; each once', async () => {
    const [pa, pb] = await Promise.all([payment(), payment('payer2')]);
    const start = await payerPayeeBalances(devnet);
    await devnet.testClient.setAutomine(false);
    const a = settleWatched(pa);
    const dropped = await a.broadcast;
    await devnet.testClient.dropTransaction({ hash: dropped });
    expect(await devnet.publicClient.getTransaction({ hash: dropped }).catch(() => undefined)).toBeUndefined();
    await devnet.testClient.setAutomine(true);

    const b = settleWatched(pb);
    const [ra, rb] = await Promise.all([a.outcome, b.outcome]);
    expect(ra).toMatchObject({ status: 'settled', reference: dropped });
    expect(rb).toMatchObject({ status: 'settled' });
    expect(a.hashes).toEqual([dropped]);
    expect(await timesUsed(pa)).toBe(1);
    expect(await timesUsed(pb)).toBe(1);
    expect((await payerPayeeBalances(devnet)).payee - start.payee).toBe(2n * PRICE);
  });

  it('a settlement replaced by another transaction of the gas account (same nonce) is sent again with a fresh nonce and settles once; later settlements go through', async () => {
    const [pa, pb] = await Promise.all([payment(), payment('payer2')]);
    const start = await payerPayeeBalances(devnet);
    await devnet.testClient.setAutomine(false);
    const a = settleWatched(pa);
    const replacedHash = await a.broadcast;
    const original = await devnet.publicClient.getTransaction({ hash: replacedHash });
    // Another process with the same gas key takes that nonce: a zero-value self-transfer at twice the fees.
    const gasAccount = privateKeyToAccount(devnet.accounts.facilitator.privateKey as Hex);
    const replacement = await gasAccount.signTransaction({
      type: 'eip1559',
      chainId: devnet.chainId,
      to: gasAccount.address,
      value: 0n,
      gas: 21_000n,
      nonce: original.nonce,
      maxFeePerGas: (original.maxFeePerGas ?? 1n) * 2n,
      maxPriorityFeePerGas: (original.maxPriorityFeePerGas ?? 1n) * 2n + 1n,
    });
    await devnet.publicClient.sendRawTransaction({ serializedTransaction: replacement });
    await devnet.testClient.mine({ blocks: 1 });
    await devnet.testClient.setAutomine(true);

    const b = settleWatched(pb);
    const [ra, rb] = await Promise.all([a.outcome, b.outcome]);
    expect(ra.status, JSON.stringify(ra)).toBe('settled');
    expect(rb.status, JSON.stringify(rb)).toBe('settled');
    if (ra.status !== 'settled') return;
    expect(ra.reference).not.toBe(replacedHash);
    expect(a.hashes).toEqual([replacedHash, ra.reference]);
    await expect(devnet.publicClient.getTransactionReceipt({ hash: replacedHash })).rejects.toThrow();
    expect(await timesUsed(pa)).toBe(1);
    expect(await timesUsed(pb)).toBe(1);
    expect((await payerPayeeBalances(devnet)).payee - start.payee).toBe(2n * PRICE);
  });
});
