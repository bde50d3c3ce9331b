/**
 * Attack (finding 8): a payer opens an authorize-mode metering session (an EIP-2612 permit for the maximum, nothing
 * moves), draws on it, and the server restarts (or the session lives on another instance). Before the fix,
 * `settleExpired()` only knew sessions opened by its own process, so the permit lapsed and the usage was never paid.
 *
 * Guarantee: the store says which authorized sessions are due (`dueForSettlement`), so a NEW metering instance over
 * the same SQLite file settles the usage on chain after expiry: merchant +usage, payer −usage, exactly one transfer,
 * even when two new instances run `settleExpired` at the same moment. Own anvil devnet (balance assertions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evmEip2612Client, evmEip2612Server, evmPermitAuthorizer, exactTokenAbi } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import type { CapabilityToken } from '../../src/capabilities/capabilityToken';
import { meteredFetch } from '../../src/client/meteredFetch';
import { payingFetch, type FetchLike } from '../../src/client/payingFetch';
import { createReceiptSigner, type ReceiptSigner } from '../../src/core/receipt/signer';
import { metering, type Metering } from '../../src/metering/metering';
import { createSqliteMeteringStore, type SqliteMeteringStore } from '../../src/metering/sqliteMeteringStore';
import { paywall } from '../../src/server/paywall';
import { walletFor } from '../support/evmHarness';
import { ORIGIN, usageHandler } from '../metering/support';

const MAX = 100_000n;
const TTL = 60;
const dir = mkdtempSync(join(tmpdir(), 'x402-adversary-restart-'));
const path = join(dir, 'metering.sqlite');
let devnet: EvmDevnet;
let token: CapabilityToken;
let signer: ReceiptSigner;
const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
const stores: SqliteMeteringStore[] = [];

beforeAll(async () => {
  devnet = await startEvmDevnet();
  [token, signer] = await Promise.all([jwsCapabilityToken(), createReceiptSigner()]);
});
afterAll(async () => {
  for (const store of stores) store.closeDatabase();
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One server process: a metering instance over the shared SQLite file, its paywall, served in-process. */
function instance(): { meter: Metering; fetch: FetchLike; store: SqliteMeteringStore } {
  const settler = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  };
  const common = { ...settler, chainId: devnet.chainId, token: devnet.token, payTo: devnet.accounts.payee.address };
  const store = createSqliteMeteringStore({ path });
  stores.push(store);
  const meter = metering({
    token,
    signer,
    routes: { 'POST /llm': { maxUnitsPerCall: 1_000n, unitPrice: 10n, settle: 'authorize', ttlSeconds: TTL } },
    authorizers: { 'evm-eip2612': evmPermitAuthorizer(common) },
    store,
    closeWaitMs: 5_000,
    now: clock.now,
  });
  const pw = paywall(
    { 'POST /llm': { accepts: [{ rail: 'evm-eip2612', amount: MAX, maxTimeoutSeconds: TTL + 900 }] } },
    { rails: [evmEip2612Server(common)], signer, extensions: [meter], now: clock.now },
  );
  const app = pw.wrap(usageHandler);
  return { meter, store, fetch: async (input, init) => app(new Request(input, init)) };
}

const balance = (name: 'payer' | 'payee') => devnet.balanceOf(devnet.accounts[name].address);
const transfersSince = async (head: bigint) =>
  (
    await devnet.publicClient.getContractEvents({
      address: devnet.token.address,
      abi: exactTokenAbi,
      eventName: 'Transfer',
      fromBlock: head,
    })
  )
    .filter((e) => e.blockNumber > head)
    .map((e) => ({ from: e.args.from, to: e.args.to, value: e.args.value }));

it('a session opened before a restart is settled by a NEW instance after expiry, once, even with two instances settling at once', async () => {
  const payerStart = await balance('payer');
  const payeeStart = await balance('payee');

  // Process 1: the payer authorizes the maximum and draws 123 + 450 units at 10 each = 5,730.
  const first = instance();
  const client = meteredFetch({
    pay: payingFetch(first.fetch, {
      adapters: [evmEip2612Client()],
      wallets: [walletFor(devnet, 'payer')],
      capabilities: false,
    }),
    fetch: first.fetch,
  });
  for (const units of ['123', '450']) {
    const res = await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': units }, body: 'prompt' });
    expect(res.status).toBe(200);
  }
  const [held] = client.sessions(ORIGIN);
  expect((await first.store.get(held?.id ?? ''))?.used).toBe(5_730n);
  expect(await balance('payer')).toBe(payerStart); // authorized, nothing moved yet
  // Process 1 dies: its memory (and whatever it knew about its sessions) is gone.
  first.store.closeDatabase();

  // Two fresh instances over the same file. Before expiry nothing is due.
  const [b, c] = [instance(), instance()];
  expect(await b.meter.settleExpired()).toEqual([]);
  expect(await balance('payee')).toBe(payeeStart);

  clock.offsetMs = (TTL + 1) * 1000;
  const head = await devnet.publicClient.getBlockNumber({ cacheTime: 0 });
  const [byB, byC] = await Promise.all([b.meter.settleExpired(), c.meter.settleExpired()]);
  const settlements = [...byB, ...byC].map((o) => o.settlement);
  expect(settlements.length).toBeGreaterThanOrEqual(1);
  expect(new Set(settlements.map((s) => JSON.stringify(s))).size).toBe(1); // both answer the one recorded settlement
  expect(settlements[0]).toMatchObject({ status: 'sent', amount: '5730' });

  // Exactly one transfer of the usage, payer → merchant.
  expect(await transfersSince(head)).toEqual([
    { from: devnet.accounts.payer.address, to: devnet.accounts.payee.address, value: 5_730n },
  ]);
  expect(await balance('payer')).toBe(payerStart - 5_730n);
  expect(await balance('payee')).toBe(payeeStart + 5_730n);

  // Settled: nothing is due any more; running again moves nothing.
  expect(await b.meter.settleExpired()).toEqual([]);
  expect(await c.meter.settleExpired()).toEqual([]);
  expect(await transfersSince(head)).toHaveLength(1);
  expect(await balance('payer')).toBe(payerStart - 5_730n);
});
