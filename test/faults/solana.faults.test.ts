/**
 * Faults on the Solana rail (SPL `exact` on the litesvm devnet): the server's RPC goes through a fault
 * proxy that times out after the node accepted the settlement transaction, loses the confirmation polls,
 * answers 5xx, refuses connections, or fronts an RPC front that is stopped and started again over the same
 * ledger (the chain state is kept, as a restarted validator keeps its ledger). Each case: a paid request
 * through the real paywall with a real client; 502/503 (or 503 `settlement_pending` with the signature),
 * never the service without a receipt; the token moves at most once; after the fault, the same payment (or
 * `pw.reconcile()`) gets exactly one receipt and the money moved exactly once.
 */
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReceiptSigner, payingFetch, paywall, receiptOf, type FetchLike, type Paywall } from '../../src/index';
import { solanaExactClient, solanaExactServer } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { startRpcFront, type RpcFront } from '../../fixtures/solana/rpcServer';
import { startFaultProxy, type FaultProxy } from '../support/faultProxy';
import { solanaWalletFor } from '../support/solanaHarness';
import {
  countingHandler,
  expectPending,
  expectReceipt,
  expectUnavailable,
  preparePayment,
  type PreparedPayment,
} from './support/faultAssertions';

const PRICE = 10_000n;
const URL_PAID = 'http://faults.test/paid';
/** The server's RPC timeout and confirmation wait: small, so each fault resolves in about a second. */
const RPC_TIMEOUT_MS = 400;
const CONFIRM_TIMEOUT_MS = 800;

let devnet: SolanaDevnet;
let proxy: FaultProxy;
/** A second RPC front over the devnet's ledger, which the restart case stops and starts again. */
let front: RpcFront | undefined;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  proxy = await startFaultProxy(devnet.rpcUrl);
});
afterAll(async () => {
  await proxy?.close();
  await front?.close();
  await devnet?.stop();
});
beforeEach(async () => {
  await proxy.set({ kind: 'pass' });
});

/** A web3.js connection through the proxy whose every call gives up after {@link RPC_TIMEOUT_MS}. */
function proxiedConnection(): Connection {
  return new Connection(proxy.url, {
    commitment: 'confirmed',
    disableRetryOnRateLimit: true,
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(RPC_TIMEOUT_MS) }),
  });
}

/**
 * A paywall whose Solana rail reaches the devnet only through the fault proxy, with short timeouts: the
 * connection's own (`connection: 'timeout'`), or only the rail's (`'plain'`, a web3.js default connection
 * that waits as long as the socket lets it).
 */
async function server(
  connection: 'timeout' | 'plain' = 'timeout',
): Promise<{ pw: Paywall; fetch: FetchLike; runs: () => number }> {
  const rail = solanaExactServer({
    connection: connection === 'timeout' ? proxiedConnection() : new Connection(proxy.url, 'confirmed'),
    rpcTimeoutMs: RPC_TIMEOUT_MS,
    network: devnet.network,
    feePayer: devnet.keypairs.feePayer,
    mints: [devnet.mint],
    payTo: devnet.keypairs.payee.publicKey,
    confirmTimeoutMs: CONFIRM_TIMEOUT_MS,
    pollIntervalMs: 20,
  });
  const pw = paywall(
    { 'GET /paid': { accepts: [{ rail: 'solana-spl', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  const counted = countingHandler();
  const handler = pw.wrap(counted.handler);
  return { pw, fetch: async (input, init) => handler(new Request(input, init)), runs: () => counted.runs };
}

function balances(): { payer: bigint; payee: bigint } {
  return {
    payer: devnet.tokenBalance(devnet.keypairs.payer.publicKey),
    payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey),
  };
}

/** Payer → payee movement since `before` (both sides must agree). */
function movedSince(before: { payer: bigint; payee: bigint }): bigint {
  const now = balances();
  expect(before.payer - now.payer).toBe(now.payee - before.payee);
  return now.payee - before.payee;
}

function prepare(fetch: FetchLike): Promise<PreparedPayment> {
  return preparePayment(fetch, URL_PAID, solanaExactClient(), solanaWalletFor(devnet, 'payer'));
}

/** The status of a transaction signature on the devnet itself. */
async function landed(signature: string): Promise<boolean> {
  const { value } = await devnet.connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
  return value[0]?.err === null;
}

describe('Solana faults (SPL exact on the litesvm devnet behind a fault proxy)', () => {
  it('RPC times out after the node accepted the settlement: the status polls find it landed, 200 with the one receipt, charged once', async () => {
    const { pw, fetch } = await server();
    const payment = await prepare(fetch);
    const before = balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['sendTransaction'] });

    const receipt = await expectReceipt(await payment.send(), pw);
    expect(proxy.forwarded('sendTransaction')).toBeGreaterThan(0);
    expect(await landed(receipt.reference)).toBe(true);
    expect(movedSince(before)).toBe(PRICE);

    await proxy.set({ kind: 'pass' });
    expect(await expectReceipt(await payment.send(), pw)).toMatchObject({ id: receipt.id });
    expect(movedSince(before)).toBe(PRICE);
  });

  it('RPC hangs and the connection has no timeout of its own: the rail bounds its waits (200 once the lost send is found landed; 503 when verify gets no answer)', async () => {
    const { pw, fetch, runs } = await server('plain');
    const payment = await prepare(fetch);
    const before = balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['sendTransaction'] });
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(await landed(receipt.reference)).toBe(true);
    expect(movedSince(before)).toBe(PRICE);

    const next = await prepare(fetch);
    await proxy.set({ kind: 'hang-after-forward' });
    await expectUnavailable(await next.send());
    expect(runs()).toBe(1);
    expect(movedSince(before)).toBe(PRICE);
    await proxy.set({ kind: 'pass' });
    await expectReceipt(await next.send(), pw);
    expect(movedSince(before)).toBe(2n * PRICE);
  });

  it('confirmation polls time out after the send: 503 settlement_pending with the signature; pw.reconcile() settles it once back, the retry gets that receipt', async () => {
    const { pw, fetch, runs } = await server();
    const payment = await prepare(fetch);
    const before = balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['getSignatureStatuses'], after: 'sendTransaction' });

    const reference = await expectPending(await payment.send());
    expect(runs()).toBe(1); // the handler ran, its body was withheld
    expect(await landed(reference)).toBe(true);
    expect(movedSince(before)).toBe(PRICE);

    await proxy.set({ kind: 'refuse' });
    expect((await pw.reconcile()).pending).toHaveLength(1);
    await proxy.set({ kind: 'pass' });
    expect((await pw.reconcile()).settled).toHaveLength(1);
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference);
    expect(movedSince(before)).toBe(PRICE);
  });

  it('RPC answers 5xx on every call: 503 rail unavailable before the handler runs, nothing moved; the same payment works once it recovers', async () => {
    const { pw, fetch, runs } = await server();
    const payment = await prepare(fetch);
    const before = balances();
    await proxy.set({ kind: 'status-5xx', status: 502 });

    await expectUnavailable(await payment.send());
    expect(runs()).toBe(0);
    expect(movedSince(before)).toBe(0n);

    await proxy.set({ kind: 'pass' });
    await expectReceipt(await payment.send(), pw);
    expect(movedSince(before)).toBe(PRICE);
  });

  it('RPC answers 5xx to the settlement transaction only: 503 settlement_pending (it may have been forwarded), nothing moved; the same payment then settles once', async () => {
    const { pw, fetch } = await server();
    const payment = await prepare(fetch);
    const before = balances();
    await proxy.set({ kind: 'status-5xx', status: 500, methods: ['sendTransaction'] });

    const reference = await expectPending(await payment.send());
    expect(await landed(reference)).toBe(false);
    expect(movedSince(before)).toBe(0n);

    await proxy.set({ kind: 'pass' });
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference); // the same co-signed transaction, sent now
    expect(movedSince(before)).toBe(PRICE);
    expect((await pw.reconcile()).pending).toEqual([]);
  });

  it('RPC unreachable (connection refused): 503 before the handler runs; payingFetch re-sends the same payment and gets the receipt once it is back', async () => {
    const { pw, fetch, runs } = await server();
    const payment = await prepare(fetch);
    const before = balances();
    await proxy.set({ kind: 'refuse' });
    await expectUnavailable(await payment.send());
    expect(runs()).toBe(0);
    expect(movedSince(before)).toBe(0n);

    const client = payingFetch(fetch, {
      adapters: [solanaExactClient()],
      wallets: [solanaWalletFor(devnet, 'payer')],
      resend: { attempts: 3, delayMs: 50, maxDelayMs: 300 },
    });
    setTimeout(() => void proxy.set({ kind: 'pass' }), 100);
    const response = await client(URL_PAID);
    expect(receiptOf(response)?.receiptError).toBeUndefined();
    await expectReceipt(response, pw);
    expect(movedSince(before)).toBe(PRICE);
  });

  it('devnet RPC restarted (front stopped, started again over the same ledger): 503 while down, nothing served; afterwards the pending settlement reconciles to one receipt', async () => {
    front = await startRpcFront({ ledger: devnet.ledger, genesisHash: devnet.genesisHash });
    proxy.retarget(front.rpcUrl);
    const { pw, fetch, runs } = await server();
    const payment = await prepare(fetch);
    const fresh = await prepare(fetch);
    const before = balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['getSignatureStatuses'], after: 'sendTransaction' });
    const reference = await expectPending(await payment.send());
    await proxy.set({ kind: 'pass' });
    expect(movedSince(before)).toBe(PRICE);
    await front.close();

    const runsBefore = runs();
    await expectUnavailable(await payment.send());
    await expectUnavailable(await fresh.send());
    expect(runs()).toBe(runsBefore);
    expect((await pw.reconcile()).pending).toHaveLength(1);

    front = await startRpcFront({ ledger: devnet.ledger, genesisHash: devnet.genesisHash });
    proxy.retarget(front.rpcUrl);
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt.reference).toBe(reference);
    expect((await pw.reconcile()).pending).toEqual([]);
    expect(movedSince(before)).toBe(PRICE);
    await expectReceipt(await fresh.send(), pw);
    expect(movedSince(before)).toBe(2n * PRICE);
  });
});
