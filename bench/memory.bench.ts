/**
 * Memory under sustained paid traffic: 100,000 paid requests through the paywall with the SQLite store (a
 * file in a temp dir), on the in-memory fake rail (test/unit/support/fakeRail.ts, with its history off so the
 * rail itself holds nothing per payment) — what is measured is the paywall, the receipt signer and the store.
 * RSS and heap (after a full GC) at 0, 10k, 50k and 100k, the ratio RSS(100k) / RSS(10k) (flat ≈ 1), and the
 * time per paid request against the time of one unpaid 402 on the same route, measured in the same run.
 *
 * `npm run bench` runs it in a child process of its own ({@link benchMemoryInChild}), so the RSS is that of a
 * process holding only what a paid server needs, not the devnets or the other suites. Run it alone with
 * `npm run bench -- memory` (no devnets needed). `BENCH_MEMORY_REQUESTS` shortens it.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  type PaymentRequirements,
} from '../src/index';
import { createSqlitePaymentStore } from '../src/stores/sqlitePaymentStore';
import { createFakeLedger, fakeRail } from '../test/unit/support/fakeRail';
import { millis, ratio, throughput, type BenchRow } from './measure';

const ORIGIN = 'http://bench.test';
const PATH = '/paid';
/** Paid requests in flight at once. */
const CONCURRENCY = 4;
/** A fresh challenge every so many payments (challenge tokens expire). */
const CHALLENGE_EVERY = 5_000;

/** A full garbage collection (V8's `gc`, exposed at run time), so heap figures are live objects only. */
const collect: () => void = (() => {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  return typeof gc === 'function' ? () => void gc() : () => undefined;
})();

/** One memory sample. */
type Sample = { paid: number; rssMiB: number; heapMiB: number };

function sample(paid: number): Sample {
  collect();
  const { rss, heapUsed } = process.memoryUsage();
  return { paid, rssMiB: rss / 2 ** 20, heapMiB: heapUsed / 2 ** 20 };
}

const mib = (n: number) => `${n.toFixed(1)} MiB`;

/**
 * Runs the memory benchmark and returns its rows.
 *
 * @example console.table(await benchMemory({ requests: 100_000 }))
 */
export async function benchMemory(options: { requests?: number } = {}): Promise<BenchRow[]> {
  const total = options.requests ?? (Number(process.env.BENCH_MEMORY_REQUESTS) || 100_000);
  const checkpoints = [...new Set([Math.round(total / 10), Math.round(total / 2), total])];
  const dir = mkdtempSync(join(tmpdir(), 'x402-bench-memory-'));
  const path = join(dir, 'store.sqlite');
  const store = createSqlitePaymentStore({ path });
  try {
    const ledger = createFakeLedger();
    const payer = ledger.open('payer', 10n ** 18n);
    const rail = fakeRail({ ledger, payTo: 'merchant', keepHistory: false });
    const pw = paywall(
      { [`GET ${PATH}`]: { accepts: [{ rail: 'fake-exact', amount: 10n }] } },
      { rails: [rail], signer: await createReceiptSigner(), store, issuer: 'http://bench.test' },
    );
    const app = pw.wrap(() => Response.json({ ok: true }));
    const url = `${ORIGIN}${PATH}`;

    const challenge = async (): Promise<PaymentRequirements> => {
      const res = await app(new Request(url));
      const [offer] = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
      if (res.status !== 402 || !offer) throw new Error(`expected a 402 challenge, got ${res.status}`);
      return offer;
    };
    const unpaidPerSecond = await throughput(challenge, { ms: 1500, warmup: 200 });

    let offer = await challenge();
    let paid = 0;
    const payOnce = async (): Promise<void> => {
      const payload = await rail.createPayment(offer, payer, { resource: { url }, x402Version: 2, now: Date.now() });
      const res = await app(
        new Request(url, {
          headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload }) },
        }),
      );
      if (res.status !== 200) throw new Error(`paid request ${paid} answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    // Warm up (JIT, SQLite page cache) before the first sample, then drive the traffic to each checkpoint.
    for (let i = 0; i < 500; i++) await payOnce();
    const samples: Sample[] = [sample(0)];
    const started = performance.now();
    for (const checkpoint of checkpoints) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (paid < checkpoint) {
            paid++;
            if (paid % CHALLENGE_EVERY === 0) offer = await challenge();
            await payOnce();
          }
        }),
      );
      samples.push(sample(paid));
    }
    const paidMs = (performance.now() - started) / paid;
    const unpaidMs = 1000 / unpaidPerSecond;
    const at = (n: number) => samples.find((s) => s.paid === n);
    const first = at(checkpoints[0] ?? 0);
    const last = at(total);
    return [
      ...samples.map((s) => ({
        rail: 'memory',
        metric: `RSS / heap after ${s.paid.toLocaleString('en-US')} paid requests (SQLite store${s.paid === 0 ? ', after 500 to warm up' : ''})`,
        value: `${mib(s.rssMiB)} / ${mib(s.heapMiB)}`,
      })),
      {
        rail: 'memory',
        metric: `RSS growth ${checkpoints[0]?.toLocaleString('en-US')} → ${total.toLocaleString('en-US')} paid requests (flat ≈ 1)`,
        value: first && last ? `${mib(last.rssMiB - first.rssMiB)} (heap ${mib(last.heapMiB - first.heapMiB)})` : 'n/a',
        baseline: first ? `RSS ${mib(first.rssMiB)} at ${first.paid.toLocaleString('en-US')}` : '',
        ratio: first && last ? (last.rssMiB / first.rssMiB).toFixed(3) : 'n/a',
      },
      {
        rail: 'memory',
        metric: `time per paid request (${CONCURRENCY} in flight, SQLite store, ${statSync(path).size > 0 ? mib(statSync(path).size / 2 ** 20) : '?'} file)`,
        value: millis(paidMs),
        baseline: `${millis(unpaidMs)} per unpaid 402 (same route)`,
        ratio: `${ratio(paidMs, unpaidMs)}×`,
      },
    ];
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs {@link benchMemory} in a fresh child process (bench/memoryProcess.ts under tsx) and returns its rows.
 *
 * @example rows.push(...(await benchMemoryInChild()))
 */
export function benchMemoryInChild(): Promise<BenchRow[]> {
  const script = fileURLToPath(new URL('./memoryProcess.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let rows: BenchRow[] | undefined;
    child.on('message', (message: BenchRow[]) => {
      rows = message;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      rows ? resolve(rows) : reject(new Error(`the memory benchmark process exited with ${code}`)),
    );
  });
}
