/**
 * Faults on the EVM rail (EIP-3009 on anvil): the server's RPC goes through a fault proxy that times out
 * after the node accepted the settlement transaction, answers 5xx, refuses connections, or fronts an anvil
 * that is killed and restarted with its state. Each case: a paid request through the real paywall with a
 * real client; the answer is 502/503 (or 503 `settlement_pending` with the reference), never the service
 * without a receipt; the token moves at most once; once the fault is cleared, the same payment (or
 * `pw.reconcile()`) gets exactly one receipt, and the money moved exactly once (or, if nothing was
 * broadcast, nothing moved).
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReceiptSigner, payingFetch, paywall, receiptOf, type FetchLike, type Paywall } from '../../src/index';
import { evmEip2612Client, evmEip2612Server, evmEip3009Client, evmEip3009Server } from '../../adapters/evm/index';
import { exactTokenAbi } from '../../adapters/evm/abi';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startAnvil, type AnvilInstance } from '../../fixtures/evm/anvil';
import { startFaultProxy, type FaultProxy } from '../support/faultProxy';
import { walletFor } from '../support/evmHarness';
import {
  countingHandler,
  expectPending,
  expectReceipt,
  expectUnavailable,
  preparePayment,
  type PreparedPayment,
} from './support/faultAssertions';

const PRICE = 10_000n;
/** Where a settlement's receipt comes from: one transaction's, or a whole block's (the receipt watcher). */
const RECEIPT_METHODS = ['eth_getTransactionReceipt', 'eth_getBlockReceipts'];
const URL_PAID = 'http://faults.test/paid';
/** The server's RPC timeout and confirmation wait: small, so each fault resolves in well under a second. */
const RPC_TIMEOUT_MS = 400;
const CONFIRM_TIMEOUT_MS = 800;

let evm: EvmDevnet;
let proxy: FaultProxy;
/** Reads the chain directly (not through the proxy); replaced when anvil restarts. */
let reader: PublicClient;
let restarted: AnvilInstance | undefined;

beforeAll(async () => {
  evm = await startEvmDevnet();
  proxy = await startFaultProxy(evm.rpcUrl);
  reader = evm.publicClient;
});
afterAll(async () => {
  await proxy?.close();
  await restarted?.stop();
  await evm?.stop();
});
beforeEach(async () => {
  await proxy.set({ kind: 'pass' });
});

/**
 * A paywall whose EIP-3009 rail reaches anvil only through the fault proxy, with short timeouts. The gas
 * account signs locally, or (`nodeAccount`) is held by the node, which signs on `eth_sendTransaction`.
 */
async function server(
  gas: 'local' | 'nodeAccount' = 'local',
): Promise<{ pw: Paywall; fetch: FetchLike; runs: () => number }> {
  const transport = http(proxy.url, { timeout: RPC_TIMEOUT_MS, retryCount: 0 });
  const publicClient = createPublicClient({ chain: evm.chain, transport, pollingInterval: 20 });
  const account =
    gas === 'local'
      ? privateKeyToAccount(evm.accounts.facilitator.privateKey as Hex)
      : evm.accounts.facilitator.address;
  const walletClient = createWalletClient({ account, chain: evm.chain, transport });
  const settler = {
    publicClient,
    walletClient,
    chainId: evm.chainId,
    token: evm.token,
    payTo: evm.accounts.payee.address,
    confirmTimeoutMs: CONFIRM_TIMEOUT_MS,
    pollingIntervalMs: 20,
  };
  const pw = paywall(
    {
      'GET /paid': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] },
      'GET /paid2612': { accepts: [{ rail: 'evm-eip2612', amount: PRICE }] },
    },
    { rails: [evmEip3009Server(settler), evmEip2612Server(settler)], signer: await createReceiptSigner() },
  );
  const counted = countingHandler();
  const handler = pw.wrap(counted.handler);
  return { pw, fetch: async (input, init) => handler(new Request(input, init)), runs: () => counted.runs };
}

function balanceOf(address: Address): Promise<bigint> {
  return reader.readContract({
    address: evm.token.address,
    abi: exactTokenAbi,
    functionName: 'balanceOf',
    args: [address],
  });
}

async function balances(): Promise<{ payer: bigint; payee: bigint }> {
  const [payer, payee] = await Promise.all([
    balanceOf(evm.accounts.payer.address),
    balanceOf(evm.accounts.payee.address),
  ]);
  return { payer, payee };
}

/** Payer → payee movement since `before`, in atomic units (both sides must agree). */
async function movedSince(before: { payer: bigint; payee: bigint }): Promise<bigint> {
  const now = await balances();
  expect(before.payer - now.payer).toBe(now.payee - before.payee);
  return now.payee - before.payee;
}

async function prepare(fetch: FetchLike): Promise<PreparedPayment> {
  return preparePayment(fetch, URL_PAID, evmEip3009Client(), walletFor(evm, 'payer'));
}

describe('EVM faults (EIP-3009 on anvil behind a fault proxy)', () => {
  it('RPC times out after the node accepted the settlement: 503 settlement_pending with the tx hash; the same payment then gets the one receipt', async () => {
    const { pw, fetch } = await server();
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['eth_sendRawTransaction'] });

    const reference = await expectPending(await payment.send());
    expect(reference).toMatch(/^0x[0-9a-f]{64}$/);
    expect(proxy.forwarded('eth_sendRawTransaction')).toBeGreaterThan(0);
    // anvil mined it: the money moved although the server never heard back
    expect(await movedSince(before)).toBe(PRICE);
    expect((await reader.getTransactionReceipt({ hash: reference as Hex })).status).toBe('success');

    await proxy.set({ kind: 'pass' });
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference);
    expect(await expectReceipt(await payment.send(), pw)).toMatchObject({ id: receipt.id });
    expect(await movedSince(before)).toBe(PRICE);
  });

  it('a real client (payingFetch) through a one-shot lost send answer: it re-sends the same payment on 503 settlement_pending and ends with the one receipt, charged once', async () => {
    const { pw, fetch } = await server();
    const before = await balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['eth_sendRawTransaction'], times: 1 });
    const client = payingFetch(fetch, {
      adapters: [evmEip3009Client()],
      wallets: [walletFor(evm, 'payer')],
      resend: { attempts: 3, delayMs: 50, maxDelayMs: 200 },
    });
    const response = await client(URL_PAID);
    const outcome = receiptOf(response);
    expect(outcome?.receiptError).toBeUndefined();
    const receipt = await expectReceipt(response, pw);
    expect(proxy.forwarded('eth_sendRawTransaction')).toBeGreaterThan(0);
    expect((await reader.getTransactionReceipt({ hash: receipt.reference as Hex })).status).toBe('success');
    expect(await movedSince(before)).toBe(PRICE);
  });

  it('RPC times out after the node accepted the settlement, gas account held by the node (signed with eth_signTransaction first): 503 settlement_pending with the hash; the retry gets its receipt', async () => {
    const { pw, fetch, runs } = await server('nodeAccount');
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['eth_sendTransaction', 'eth_sendRawTransaction'] });

    const reference = await expectPending(await payment.send());
    expect(proxy.forwarded('eth_signTransaction')).toBeGreaterThan(0);
    expect(runs()).toBe(1);
    expect(await movedSince(before)).toBe(PRICE);

    await proxy.set({ kind: 'pass' });
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference);
    expect((await reader.getTransactionReceipt({ hash: reference as Hex })).status).toBe('success');
    expect(await movedSince(before)).toBe(PRICE);
  });

  it('EIP-2612: RPC times out after the node accepted the transfer (the permit went through): 503 settlement_pending with its hash; the retry gets that receipt, paid once', async () => {
    const { pw, fetch } = await server();
    const payment = await preparePayment(
      fetch,
      'http://faults.test/paid2612',
      evmEip2612Client(),
      walletFor(evm, 'payer'),
    );
    const before = await balances();
    // the first send (permit) passes, the second (transferFrom) is taken by the node and its answer lost
    await proxy.set({
      kind: 'hang-after-forward',
      methods: ['eth_sendRawTransaction'],
      after: 'eth_sendRawTransaction',
    });

    const reference = await expectPending(await payment.send());
    expect(await movedSince(before)).toBe(PRICE);

    await proxy.set({ kind: 'pass' });
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference);
    expect(await movedSince(before)).toBe(PRICE);
    expect((await pw.reconcile()).pending).toEqual([]);
  });

  it('EIP-2612: RPC times out after the node accepted the permit: 503 settlement_pending, nothing moved yet; the retry makes the one transfer', async () => {
    const { pw, fetch } = await server();
    const payment = await preparePayment(
      fetch,
      'http://faults.test/paid2612',
      evmEip2612Client(),
      walletFor(evm, 'payer'),
    );
    const before = await balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['eth_sendRawTransaction'] });

    const permit = await expectPending(await payment.send());
    expect((await reader.getTransactionReceipt({ hash: permit as Hex })).status).toBe('success');
    expect(await movedSince(before)).toBe(0n);

    await proxy.set({ kind: 'pass' });
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).not.toBe(permit);
    expect(await movedSince(before)).toBe(PRICE);
    expect(await expectReceipt(await payment.send(), pw)).toMatchObject({ id: receipt.id });
    expect(await movedSince(before)).toBe(PRICE);
  });

  it('confirmation times out (receipt polls hang): 503 settlement_pending; pw.reconcile() leaves it pending while the RPC is down, settles it once back, and the retry gets that receipt', async () => {
    const { pw, fetch } = await server();
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'hang-after-forward', methods: RECEIPT_METHODS });

    const reference = await expectPending(await payment.send());
    expect(await movedSince(before)).toBe(PRICE);

    // reconciliation while the RPC is unreachable leaves it pending; once it is back, it settles
    await proxy.set({ kind: 'refuse' });
    const whileDown = await pw.reconcile();
    expect(whileDown.settled).toEqual([]);
    expect(whileDown.pending, JSON.stringify(whileDown)).toHaveLength(1);

    await proxy.set({ kind: 'pass' });
    const report = await pw.reconcile();
    expect(report.settled).toHaveLength(1);
    expect((await pw.reconcile()).settled).toEqual([]);
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference);
    expect(await movedSince(before)).toBe(PRICE);
  });

  it('RPC answers 5xx on every call: 503 rail unavailable before the handler runs, nothing moved; the same payment works once it recovers', async () => {
    const { pw, fetch, runs } = await server();
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'status-5xx', status: 502 });

    await expectUnavailable(await payment.send());
    expect(runs()).toBe(0);
    expect(await movedSince(before)).toBe(0n);

    await proxy.set({ kind: 'pass' });
    await expectReceipt(await payment.send(), pw);
    expect(await movedSince(before)).toBe(PRICE);
  });

  it('RPC answers 5xx to the settlement transaction only: 503 settlement_pending (it may have been forwarded), nothing moved; the same payment then settles once', async () => {
    const { pw, fetch } = await server();
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'status-5xx', status: 500, methods: ['eth_sendRawTransaction'] });

    // A 5xx may come from a gateway that did forward it: the server cannot tell, so it stays pending.
    const reference = await expectPending(await payment.send());
    expect(await movedSince(before)).toBe(0n);
    expect(await reader.getTransaction({ hash: reference as Hex }).catch(() => undefined)).toBeUndefined();

    await proxy.set({ kind: 'pass' });
    const receipt = await expectReceipt(await payment.send(), pw);
    // the retry found nothing on chain and sent the transfer (bound to the authorization nonce: at most once);
    // the gas account's nonce had not moved either, so it is the very same signed transaction
    expect(receipt.reference).toBe(reference);
    expect((await reader.getTransactionReceipt({ hash: reference as Hex })).status).toBe('success');
    expect(await movedSince(before)).toBe(PRICE);
    expect((await pw.reconcile()).pending).toEqual([]);
  });

  it('RPC unreachable (connection refused): 503 before the handler runs; payingFetch re-sends the same payment and gets the receipt once it is back', async () => {
    const { pw, fetch, runs } = await server();
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'refuse' });
    await expectUnavailable(await payment.send());
    expect(runs()).toBe(0);
    expect(await movedSince(before)).toBe(0n);

    // a real client: its first send meets the refused RPC, its re-send the recovered one
    const client = payingFetch(fetch, {
      adapters: [evmEip3009Client()],
      wallets: [walletFor(evm, 'payer')],
      resend: { attempts: 3, delayMs: 50, maxDelayMs: 300 },
    });
    setTimeout(() => void proxy.set({ kind: 'pass' }), 100);
    const response = await client(URL_PAID);
    const outcome = receiptOf(response);
    expect(outcome?.receiptError).toBeUndefined();
    await expectReceipt(response, pw);
    expect(await movedSince(before)).toBe(PRICE);
  });

  it('devnet restarted (anvil killed, restarted with its state): 503 while down, nothing served; afterwards the pending settlement reconciles to one receipt', async () => {
    const { pw, fetch, runs } = await server();
    // A settlement whose confirmation is lost, then the node dies.
    const payment = await prepare(fetch);
    const fresh = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'hang-after-forward', methods: RECEIPT_METHODS });
    const reference = await expectPending(await payment.send());
    await proxy.set({ kind: 'pass' });
    const state = await evm.testClient.dumpState();
    const movedBeforeCrash = await movedSince(before);
    expect(movedBeforeCrash).toBe(PRICE);
    await evm.stop();

    // While it is down: the pending payment and a fresh one both get a clear 503, nothing is served.
    const runsBefore = runs();
    await expectUnavailable(await payment.send());
    await expectUnavailable(await fresh.send());
    expect(runs()).toBe(runsBefore);
    expect((await pw.reconcile()).pending).toHaveLength(1);

    // Back, same chain state, another port behind the same RPC URL.
    restarted = await startAnvil({ chainId: evm.chainId });
    await createTestClient({ mode: 'anvil', transport: http(restarted.rpcUrl) }).loadState({ state });
    proxy.retarget(restarted.rpcUrl);
    reader = createPublicClient({ chain: evm.chain, transport: http(restarted.rpcUrl) });
    expect(await movedSince(before)).toBe(PRICE);

    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference);
    expect((await pw.reconcile()).pending).toEqual([]);
    expect(await movedSince(before)).toBe(PRICE);
    // the fresh payment refused while the node was down is still good
    await expectReceipt(await fresh.send(), pw);
    expect(await movedSince(before)).toBe(2n * PRICE);
  });
});
