/**
 * Crash-safe settlement, with a real server process killed for real (SIGKILL) between the broadcast of the
 * settlement transaction and its reply, on anvil with a SQLite store file. The client (payingFetch) re-sends
 * the same payment; the restarted server must answer it with the receipt: the token moves once, the client
 * gets one verified receipt whose reference is the transaction that was broadcast before the crash.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  RECEIPT_EXTENSION_KEY,
  SignedReceiptSchema,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  payingFetch,
  receiptOf,
} from '../../src/index';
import { generateReceiptKey } from '../../src/core/receipt/signer';
import { createSqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import { evmEip2612Client, evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { evmProcessConfig } from '../support/evmProcessRail';
import type { CrashServerConfig, CrashServerMessage } from './support/crashServer';

const SCRIPT = fileURLToPath(new URL('./support/crashServer.ts', import.meta.url));
const PRICE = 10_000n;

let evm: EvmDevnet;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  evm = await startEvmDevnet();
  dir = mkdtempSync(join(tmpdir(), 'x402-crash-'));
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await evm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A started server process and the messages it sent. */
type Started = {
  child: ChildProcess;
  ready: Extract<CrashServerMessage, { type: 'ready' }>;
  broadcast: Promise<string>;
};

function startServer(config: CrashServerConfig): Promise<Started> {
  const child = fork(SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, X402_CRASH_SERVER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  let onBroadcast: (reference: string) => void = () => {};
  const broadcast = new Promise<string>((resolve) => (onBroadcast = resolve));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`crash server exited with ${code} before it was ready`)));
    child.on('message', (message: CrashServerMessage) => {
      if (message.type === 'ready') resolve({ child, ready: message, broadcast });
      if (message.type === 'broadcast') onBroadcast(message.reference);
    });
  });
}

/** SIGKILL, and wait until the process is gone. */
function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function balances(): Promise<{ payer: bigint; payee: bigint }> {
  const [payer, payee] = await Promise.all([
    evm.balanceOf(evm.accounts.payer.address),
    evm.balanceOf(evm.accounts.payee.address),
  ]);
  return { payer, payee };
}

async function configFor(
  name: string,
  hangAt: CrashServerConfig['hangAt'],
  settleLeaseMs: number,
  extra: Partial<CrashServerConfig> = {},
): Promise<CrashServerConfig> {
  return {
    ...extra,
    sqlitePath: join(dir, `${name}.sqlite`),
    evm: evmProcessConfig(evm),
    challengeSecret: randomBytes(32).toString('hex'),
    receiptJwk: await generateReceiptKey(),
    price: PRICE.toString(),
    port: 0,
    settleLeaseMs,
    ...(hangAt ? { hangAt } : {}),
  };
}

function payer() {
  return evmWallet(privateKeyToAccount(evm.accounts.payer.privateKey as Hex), { publicClient: evm.publicClient });
}

function client(method: 'evm-eip3009' | 'evm-eip2612' = 'evm-eip3009') {
  const wallet = payer();
  // Re-sends for up to ~15 s: long enough for the test to restart the server and for a dead claim to expire.
  const adapter = method === 'evm-eip2612' ? evmEip2612Client() : evmEip3009Client();
  return payingFetch(fetch, {
    adapters: [adapter],
    wallets: [wallet],
    resend: { attempts: 12, delayMs: 300, maxDelayMs: 1_500 },
  });
}

/**
 * Pays `GET /paid` on a server that hangs at its first broadcast, kills it there, restarts it on the same port
 * and store, and returns what the client finally got.
 */
async function payThroughCrash(
  hangAt: 'before-intent' | 'after-intent',
  settleLeaseMs: number,
  extra: Partial<CrashServerConfig> = {},
) {
  const config = await configFor(
    `${hangAt}-${extra.rail ?? 'evm-eip3009'}-${extra.hangAtBroadcast ?? 1}`,
    hangAt,
    settleLeaseMs,
    extra,
  );
  const first = await startServer(config);
  const before = await balances();
  const paying = client(extra.rail)(`${first.ready.url}/paid`);
  const reference = await first.broadcast;
  await kill(first.child);
  // The transaction was broadcast (anvil mines it at once): the money moved while the server was dying
  // (unless it was an EIP-2612 permit, which only allows the transfer).
  const moved = await balances();
  const permitOnly = extra.rail === 'evm-eip2612' && (extra.hangAtBroadcast ?? 1) === 1;
  expect(before.payer - moved.payer).toBe(permitOnly ? 0n : PRICE);

  const second = await startServer({ ...config, port: first.ready.port, hangAt: undefined });
  expect(second.ready.url).toBe(first.ready.url);
  const response = await paying;
  const after = await balances();
  return { response, reference, before, after, report: second.ready.report, config, url: first.ready.url };
}

describe('crash between broadcast and reply (real process, SIGKILL)', () => {
  it('after the intent was written: the restarted server reconciles it at startup, the client retry gets the receipt, charged once', async () => {
    const { response, reference, before, after, report, config } = await payThroughCrash('after-intent', 60_000);
    expect(report.settled).toHaveLength(1);
    expect(report.failed).toEqual([]);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ served: true });
    const outcome = receiptOf(response);
    expect(outcome?.receiptError).toBeUndefined();
    expect(outcome?.receipt).toMatchObject({
      rail: 'evm-eip3009',
      reference,
      amount: PRICE.toString(),
      payer: evm.accounts.payer.address,
      status: 'settled',
    });
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    // the store holds exactly that receipt, and nothing is left pending
    const store = createSqlitePaymentStore({ path: config.sqlitePath });
    expect(await store.listPending()).toEqual([]);
    store.close();
  });

  it('before the intent was written: the dead claim expires, the retry finds the landed transfer on chain, charged once', async () => {
    const { response, reference, before, after, report } = await payThroughCrash('before-intent', 2_000);
    // nothing was on record as pending: only the chain knows
    expect(report).toEqual({ settled: [], failed: [], pending: [], skipped: [] });
    expect(
      response.status,
      response.status === 200 ? '' : (response.headers.get('PAYMENT-REQUIRED') ?? (await response.clone().text())),
    ).toBe(200);
    const outcome = receiptOf(response);
    expect(outcome?.receiptError).toBeUndefined();
    expect(outcome?.receipt).toMatchObject({ reference, amount: PRICE.toString(), status: 'settled' });
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });

  it.each([
    ['the permit', 1],
    ['the transfer', 2],
  ])(
    'EIP-2612, killed after %s was broadcast and on record: reconciled at restart, one receipt, charged once',
    async (_what, nth) => {
      const { response, reference, before, after, report } = await payThroughCrash('after-intent', 60_000, {
        rail: 'evm-eip2612',
        hangAtBroadcast: nth,
      });
      expect(report.settled).toHaveLength(1);
      expect(response.status).toBe(200);
      const outcome = receiptOf(response);
      expect(outcome?.receiptError).toBeUndefined();
      expect(outcome?.receipt).toMatchObject({ rail: 'evm-eip2612', amount: PRICE.toString(), status: 'settled' });
      // killed after the transfer: the receipt names the very transaction that was broadcast before the crash
      if (nth === 2) expect(outcome?.receipt?.reference).toBe(reference);
      expect(before.payer - after.payer).toBe(PRICE);
      expect(after.payee - before.payee).toBe(PRICE);
    },
  );

  it('the same PAYMENT-SIGNATURE sent again and again after recovery gets the one receipt and moves nothing more', async () => {
    const config = await configFor('replay', 'after-intent', 60_000);
    const first = await startServer(config);
    const url = `${first.ready.url}/paid`;
    const unpaid = await fetch(url);
    const [offer] = decodePaymentRequiredHeader(unpaid.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
    if (!offer) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, payer(), {
      resource: { url },
      x402Version: 2,
      now: Date.now(),
    });
    const headers = {
      'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
        x402Version: 2,
        resource: { url },
        accepted: offer,
        payload,
      }),
    };
    const before = await balances();
    const lost = fetch(url, { headers }).then(
      () => 'answered',
      () => 'lost',
    );
    await first.broadcast;
    await kill(first.child);
    expect(await lost).toBe('lost');

    await startServer({ ...config, port: first.ready.port, hangAt: undefined });
    const receipts = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(url, { headers });
      expect(response.status).toBe(200);
      const settle = decodePaymentResponseHeader(response.headers.get('PAYMENT-RESPONSE') ?? '');
      receipts.push(SignedReceiptSchema.parse(settle.extensions?.[RECEIPT_EXTENSION_KEY]));
    }
    expect(new Set(receipts.map((r) => r.id)).size).toBe(1);
    expect(new Set(receipts.map((r) => r.signature)).size).toBe(1);
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });
});
