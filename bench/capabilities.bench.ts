/**
 * Capability credentials: calls/s authorized by a capability (bought with one EIP-3009 payment settled on
 * anvil) through a Hono app, against the bare unpaid route of the same app in the same run. Target of
 * issue 9: ≥ 20,000 capability-authorized requests/s on 2 cores (reported, never asserted).
 *
 * Standalone: `npx tsx bench/capabilities.bench.ts` (starts the devnets, runs this suite only).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { evmEip3009Client, evmWallet } from '../adapters/evm/index';
import { devnetServerRails, type AllDevnets } from '../fixtures/demo/devnetRails';
import type { EvmDevnet } from '../fixtures/evm/index';
import { startDevnets } from '../fixtures/startDevnets';
import {
  capabilities,
  createMemoryCapabilityStore,
  createSqliteCapabilityStore,
  jwsCapabilityToken,
  type CapabilityStore,
} from '../src/capabilities/index';
import { createReceiptSigner, payingFetch, receiptOf, type FetchLike } from '../src/index';
import { honoPaywall } from '../src/server/hono';
import { markdownTable, rate, ratio, throughput, type BenchRow } from './measure';
import type { BenchContext } from './setup';

const ORIGIN = 'http://caps.bench';
const CONCURRENCY = 16;

/** How long the capability suite measures: alternating rounds of `roundMs`, `cpuCalls` sequential calls for CPU time. */
export type CapabilityPlan = { rounds: number; roundMs: number; cpuCalls: number };

/** The full run's plan. */
export const fullCapabilityPlan: CapabilityPlan = { rounds: 7, roundMs: 400, cpuCalls: 3000 };

/** A Hono app with one paid route whose payment buys a capability, and a bare route; backed by `store`. */
async function capabilityApp(devnets: AllDevnets, store: CapabilityStore): Promise<FetchLike> {
  const rail = devnetServerRails(devnets).evm3009;
  const caps = capabilities({
    token: await jwsCapabilityToken(),
    store,
    grants: { 'GET /api/:id': { calls: 100_000_000, ttlSeconds: 3600 } },
  });
  const app = new Hono();
  app.use(
    honoPaywall(
      { 'GET /api/:id': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }] } },
      { rails: [rail], signer: await createReceiptSigner(), extensions: [caps], issuer: 'http://bench.test' },
    ),
  );
  app.get('/api/:id', (c) => c.json({ ok: true, id: c.req.param('id') }));
  app.get('/free/:id', (c) => c.json({ ok: true, id: c.req.param('id') }));
  return async (input, init) => app.fetch(new Request(input, init));
}

/** Buys a capability with one real payment and returns it. */
async function buyCapability(evm: EvmDevnet, fetch: FetchLike, payer: 'payer' | 'payer2'): Promise<string> {
  const wallet = evmWallet(privateKeyToAccount(evm.accounts[payer].privateKey as Hex), {
    publicClient: evm.publicClient,
  });
  const res = await payingFetch(fetch, {
    adapters: [evmEip3009Client()],
    wallets: [wallet],
    verifyReceipts: false,
    capabilities: false,
  })(`${ORIGIN}/api/0`);
  const token = res.headers.get('X402-Capability');
  if (res.status !== 200 || !receiptOf(res)?.settleResponse?.success || token === null)
    throw new Error(`buying a capability failed: ${res.status}`);
  return token;
}

/** Requests/s of `path` for `ms`, `CONCURRENCY` in flight, each answer checked. */
function perSecond(fetch: FetchLike, path: string, headers: Record<string, string>, ms: number): Promise<number> {
  let i = 0;
  return throughput(
    async () => {
      const res = await fetch(`${ORIGIN}${path.replace(':n', String(i++ % 1000))}`, { headers });
      if (res.status !== 200)
        throw new Error(`${path}: expected 200, got ${res.status} ${res.headers.get('X402-Capability-Error') ?? ''}`);
      await res.arrayBuffer();
    },
    { ms, concurrency: CONCURRENCY, warmup: 200 },
  );
}

/** CPU time (all threads, so GC included) per sequential request of `path`, in µs: unaffected by other processes' load. */
async function cpuMicrosPerRequest(
  fetch: FetchLike,
  path: string,
  headers: Record<string, string>,
  n: number,
): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${ORIGIN}${path.replace(':n', String(i % 1000))}`, { headers });
    if (res.status !== 200) throw new Error(`${path}: expected 200, got ${res.status}`);
    await res.arrayBuffer();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Medians of `measure` for the bare route and the capability route, in alternating rounds (a load change hits both alike). */
async function paired(
  measure: (path: string, headers: Record<string, string>) => Promise<number>,
  token: string,
  rounds: number,
): Promise<{ bare: number; authorized: number }> {
  const bare: number[] = [];
  const authorized: number[] = [];
  for (let round = 0; round < rounds; round++) {
    bare.push(await measure('/free/:n', {}));
    authorized.push(await measure('/api/:n', { 'X402-Capability': token }));
  }
  return { bare: median(bare), authorized: median(authorized) };
}

/** Medians of one store: wall-clock calls/s and CPU µs per call, bare route and capability route. */
export type CapabilityMeasure = {
  store: 'memory' | 'sqlite';
  wall: { bare: number; authorized: number };
  cpu: { bare: number; authorized: number };
};

/** Capability figures on an EVM devnet: memory and SQLite stores, each against the bare route of its own app. */
export async function measureCapabilities(
  devnets: AllDevnets,
  plan: CapabilityPlan = fullCapabilityPlan,
): Promise<{ rows: BenchRow[]; measures: CapabilityMeasure[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'x402-caps-bench-'));
  const sqlite = createSqliteCapabilityStore({ path: join(dir, 'caps.sqlite') });
  const rows: BenchRow[] = [];
  const measures: CapabilityMeasure[] = [];
  try {
    for (const [what, store, payer] of [
      ['memory store', createMemoryCapabilityStore(), 'payer'],
      ['SQLite store (WAL file)', sqlite, 'payer2'],
    ] as const) {
      const fetch = await capabilityApp(devnets, store);
      const token = await buyCapability(devnets.evm, fetch, payer);
      await perSecond(fetch, '/api/:n', { 'X402-Capability': token }, 500);
      const wall = await paired((path, headers) => perSecond(fetch, path, headers, plan.roundMs), token, plan.rounds);
      const cpu = await paired(
        (path, headers) => cpuMicrosPerRequest(fetch, path, headers, plan.cpuCalls),
        token,
        plan.rounds,
      );
      measures.push({ store: store === sqlite ? 'sqlite' : 'memory', wall, cpu });
      rows.push(
        {
          rail: 'capabilities',
          metric: `capability-authorized calls, wall clock (JWS, ${what}, Hono in-process, ${CONCURRENCY} in flight, median of ${plan.rounds})`,
          value: rate(wall.authorized),
          baseline: `${rate(wall.bare)} bare route (same app, alternating rounds)`,
          ratio: ratio(wall.authorized, wall.bare),
        },
        {
          rail: 'capabilities',
          metric: `capability-authorized calls per CPU-second (${what}; CPU time of all threads per call, load-independent)`,
          value: `${rate(1e6 / cpu.authorized)} (${cpu.authorized.toFixed(1)} µs/call)`,
          baseline: `${rate(1e6 / cpu.bare)} bare route (${cpu.bare.toFixed(1)} µs/call)`,
          ratio: ratio(cpu.bare, cpu.authorized),
        },
      );
    }
  } finally {
    sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, measures };
}

/** Capability rows of the full plan (see {@link measureCapabilities}). */
export async function capabilityRows(devnets: AllDevnets): Promise<BenchRow[]> {
  return (await measureCapabilities(devnets)).rows;
}

/** The capability suite of `npm run bench`. */
export function benchCapabilities(ctx: BenchContext): Promise<BenchRow[]> {
  return capabilityRows(ctx.devnets);
}

if (process.argv[1]?.endsWith('capabilities.bench.ts')) {
  const devnets = await startDevnets({ evm: true, solana: true, lightning: true });
  try {
    const rows = await capabilityRows(devnets);
    console.table(rows);
    console.log(`\n${markdownTable(rows)}`);
  } finally {
    await devnets.stop();
  }
}
