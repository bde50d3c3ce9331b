/**
 * Faults on the x402 `upto` rail (Permit2, anvil behind a fault proxy): a settlement left pending (its confirmation
 * lost, or its broadcast dropped) reconciles with `pw.reconcile()` to the amount the route CHARGED, never the
 * maximum the payer authorized, with one receipt stating both; and the lookup of an earlier settlement
 * (`findSettlement`, after a crash) searches only the blocks the permit could settle in, not the chain from block 0,
 * and still finds it.
 */
import {
  createPublicClient,
  createWalletClient,
  http,
  maxUint256,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  reportCharge,
  type FetchLike,
  type Paywall,
} from '../../src/index';
import {
  PERMIT2_ADDRESS,
  evmUptoClient,
  evmUptoServer,
  permit2SettlementBlocks,
  UptoPermit2PayloadSchema,
} from '../../adapters/evm/index';
import { exactTokenAbi } from '../../adapters/evm/abi';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startFaultProxy, type FaultProxy } from '../support/faultProxy';
import { walletFor } from '../support/evmHarness';
import { countingHandler, expectPending, expectReceipt } from './support/faultAssertions';

const MAX = 50_000n;
const CHARGE = 12_345n;
const URL_PAID = 'http://faults.test/upto';

let evm: EvmDevnet;
let proxy: FaultProxy;
let reader: PublicClient;
/** The paywall's and the payer's clock: the chain's (the last test moves the chain an hour ahead). */
const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };

beforeAll(async () => {
  evm = await startEvmDevnet();
  proxy = await startFaultProxy(evm.rpcUrl);
  reader = evm.publicClient;
  const approve = await evm.walletClientFor('payer2').writeContract({
    address: evm.token.address,
    abi: railsTokenAbi,
    functionName: 'approve',
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await reader.waitForTransactionReceipt({ hash: approve });
});
afterAll(async () => {
  await proxy?.close();
  await evm?.stop();
});
beforeEach(async () => {
  await proxy.set({ kind: 'pass' });
});

/** A paywall whose upto rail reaches anvil only through the fault proxy, short timeouts; the route charges CHARGE. */
async function server(): Promise<{ pw: Paywall; fetch: FetchLike; rail: ReturnType<typeof evmUptoServer> }> {
  const transport = http(proxy.url, { timeout: 400, retryCount: 0 });
  const publicClient = createPublicClient({ chain: evm.chain, transport, pollingInterval: 20 });
  const walletClient = createWalletClient({
    account: privateKeyToAccount(evm.accounts.facilitator.privateKey as Hex),
    chain: evm.chain,
    transport,
  });
  const rail = evmUptoServer({
    publicClient,
    walletClient,
    chainId: evm.chainId,
    token: evm.token,
    payTo: evm.accounts.payee.address,
    confirmTimeoutMs: 800,
    pollingIntervalMs: 20,
  });
  const pw = paywall(
    { 'GET /upto': { accepts: [{ rail: 'evm-upto', amount: MAX }] } },
    { rails: [rail], signer: await createReceiptSigner(), now: clock.now },
  );
  const counted = countingHandler();
  const handler = pw.wrap(async (request) => {
    reportCharge(request, CHARGE);
    return counted.handler(request);
  });
  return { pw, rail, fetch: async (input, init) => handler(new Request(input, init)) };
}

/** One upto payment by payer2 for the route's offer, kept to be sent again. */
async function prepare(fetch: FetchLike) {
  const unpaid = await fetch(URL_PAID);
  const [offer] = decodePaymentRequiredHeader(unpaid.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
  if (!offer) throw new Error('no offer');
  const payload = await evmUptoClient().createPayment(offer, walletFor(evm, 'payer2'), {
    resource: { url: URL_PAID },
    x402Version: 2,
    now: clock.now(),
  });
  const headers = {
    'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
      x402Version: 2,
      resource: { url: URL_PAID },
      accepted: offer,
      payload,
    }),
  };
  return { offer, payload, send: () => fetch(URL_PAID, { headers }) };
}

const balanceOf = (address: Address) =>
  reader.readContract({ address: evm.token.address, abi: exactTokenAbi, functionName: 'balanceOf', args: [address] });
const balances = async () => ({
  payer: await balanceOf(evm.accounts.payer2.address),
  payee: await balanceOf(evm.accounts.payee.address),
});
async function movedSince(before: { payer: bigint; payee: bigint }): Promise<bigint> {
  const now = await balances();
  expect(before.payer - now.payer).toBe(now.payee - before.payee);
  return now.payee - before.payee;
}

describe('upto faults (Permit2 on anvil behind a fault proxy)', () => {
  it('confirmation lost: 503 settlement_pending; pw.reconcile() records the CHARGED amount (not the max); the retry gets that receipt', async () => {
    const { pw, fetch } = await server();
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'hang-after-forward', methods: ['eth_getTransactionReceipt', 'eth_getBlockReceipts'] });
    const reference = await expectPending(await payment.send());
    expect(await movedSince(before)).toBe(CHARGE);

    await proxy.set({ kind: 'pass' });
    const report = await pw.reconcile();
    expect(report.settled).toHaveLength(1);
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt).toMatchObject({ reference, amount: CHARGE.toString(), maxAmount: MAX.toString() });
    expect(await movedSince(before)).toBe(CHARGE);
  });

  it('broadcast dropped (the node never took it): pw.reconcile() settles the CHARGED amount once, never the max', async () => {
    const { pw, fetch } = await server();
    const payment = await prepare(fetch);
    const before = await balances();
    await proxy.set({ kind: 'status-5xx', status: 500, methods: ['eth_sendRawTransaction'] });
    const reference = await expectPending(await payment.send());
    expect(await reader.getTransaction({ hash: reference as Hex }).catch(() => undefined)).toBeUndefined();
    expect(await movedSince(before)).toBe(0n);

    await proxy.set({ kind: 'pass' });
    const report = await pw.reconcile();
    expect(report.settled, JSON.stringify(report)).toHaveLength(1);
    expect(await movedSince(before)).toBe(CHARGE);
    expect((await pw.reconcile()).settled).toEqual([]);
    const receipt = await expectReceipt(await payment.send(), pw);
    expect(receipt).toMatchObject({ amount: CHARGE.toString(), maxAmount: MAX.toString() });
    expect(await movedSince(before)).toBe(CHARGE);
  });

  it('findSettlement searches only the blocks the permit could settle in (not from block 0) and finds the settlement', async () => {
    // An hour of older blocks (300 × 12 s) before the payment; the paywall and payer follow the chain's clock.
    await evm.testClient.mine({ blocks: 300, interval: 12 });
    const head = await reader.getBlock({ blockTag: 'latest' });
    clock.offsetMs = Number(head.timestamp) * 1000 - Date.now();
    const { pw, fetch, rail } = await server();
    const payment = await prepare(fetch);
    const receipt = await expectReceipt(await payment.send(), pw);
    const settledIn = (await reader.getTransactionReceipt({ hash: receipt.reference as Hex })).blockNumber;

    const a = UptoPermit2PayloadSchema.parse(payment.payload).permit2Authorization;
    const window = await permit2SettlementBlocks(
      'evm-upto',
      { publicClient: reader, walletClient: evm.walletClientFor('facilitator') },
      a,
      payment.offer.maxTimeoutSeconds,
    );
    expect(window?.fromBlock).toBeGreaterThan(head.number - 40n); // the hour of older blocks is not scanned
    expect(window?.fromBlock).toBeLessThanOrEqual(settledIn);
    expect(window?.toBlock).toBeGreaterThanOrEqual(settledIn);
    expect(await rail.findSettlement(payment.payload, payment.offer)).toMatchObject({
      reference: receipt.reference,
      amount: CHARGE.toString(),
    });
  });
});
