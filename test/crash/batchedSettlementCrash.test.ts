/**
 * Crash-safe BATCHED settlement, with a real server process killed for real (SIGKILL) after the batch transaction
 * (three payments in one aggregate3 call) was broadcast and before any reply, on anvil with a SQLite store file.
 * The three clients (payingFetch) re-send their payments; the restarted server must answer each with its receipt:
 * the token moves exactly three prices, and every receipt names the one batch transaction broadcast before the
 * crash, whether the intents were on record (reconciled at startup) or not (found on chain by findSettlement).
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
import { payingFetch, receiptOf } from '../../src/index';
import { generateReceiptKey } from '../../src/core/receipt/signer';
import { createSqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
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
  dir = mkdtempSync(join(tmpdir(), 'x402-batch-crash-'));
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await evm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

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

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function payeeBalance(): Promise<bigint> {
  return evm.balanceOf(evm.accounts.payee.address);
}

function client(from: 'payer' | 'payer2') {
  const wallet = evmWallet(privateKeyToAccount(evm.accounts[from].privateKey as Hex), {
    publicClient: evm.publicClient,
  });
  return payingFetch(fetch, {
    adapters: [evmEip3009Client()],
    wallets: [wallet],
    resend: { attempts: 12, delayMs: 300, maxDelayMs: 1_500 },
  });
}

/**
 * Three clients pay `GET /paid` at once on a batching server (a batch flushes at exactly three payments) that hangs
 * at the batch's first intent record; the test kills it there and restarts it on the same port and store.
 */
async function payThroughBatchCrash(hangAt: 'before-intent' | 'after-intent', settleLeaseMs: number) {
  const config: CrashServerConfig = {
    sqlitePath: join(dir, `batch-${hangAt}.sqlite`),
    evm: { ...evmProcessConfig(evm), batch: { maxSize: 3, windowMs: 5_000 } },
    challengeSecret: randomBytes(32).toString('hex'),
    receiptJwk: await generateReceiptKey(),
    price: PRICE.toString(),
    port: 0,
    settleLeaseMs,
    hangAt,
  };
  const first = await startServer(config);
  const before = await payeeBalance();
  const url = `${first.ready.url}/paid`;
  const paying = Promise.all([client('payer')(url), client('payer2')(url), client('payer')(url)]);
  const reference = await first.broadcast;
  await kill(first.child);
  // The batch was broadcast (anvil mines it at once): all three payments moved while the server was dying.
  expect((await payeeBalance()) - before).toBe(3n * PRICE);

  const second = await startServer({ ...config, port: first.ready.port, hangAt: undefined });
  const responses = await paying;
  return { responses, reference, before, report: second.ready.report, config };
}

// Two server processes start per test (tsx): seconds on a quiet machine, much longer on a loaded one.
describe('batched settlement: crash between the batch broadcast and the replies (real process, SIGKILL)', {
  timeout: 90_000,
}, () => {
  it('intents on record: the restarted server reconciles all three at startup; each client gets its receipt naming the batch; charged once each', async () => {
    const { responses, reference, before, report, config } = await payThroughBatchCrash('after-intent', 60_000);
    expect(report.settled).toHaveLength(3);
    expect(report.failed).toEqual([]);
    for (const response of responses) {
      expect(response.status).toBe(200);
      const outcome = receiptOf(response);
      expect(outcome?.receiptError).toBeUndefined();
      expect(outcome?.receipt).toMatchObject({ reference, amount: PRICE.toString(), status: 'settled' });
    }
    expect((await payeeBalance()) - before).toBe(3n * PRICE);
    const store = createSqlitePaymentStore({ path: config.sqlitePath });
    expect(await store.listPending()).toEqual([]);
    store.close();
  });

  it('killed before any intent was written: nothing on record, the dead claims expire, each retry finds its payment in the batch on chain; charged once each', async () => {
    const { responses, reference, before, report } = await payThroughBatchCrash('before-intent', 2_000);
    expect(report).toEqual({ settled: [], failed: [], pending: [], skipped: [] });
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(receiptOf(response)?.receipt).toMatchObject({ reference, amount: PRICE.toString(), status: 'settled' });
    }
    expect((await payeeBalance()) - before).toBe(3n * PRICE);
  });
});
