/**
 * The scale test: N server instances (default 4, separate processes) behind a round-robin proxy share one store —
 * Postgres, then a Redis Cluster (3 primaries, each with a replica) — and settle on one anvil with the real EVM
 * EIP-3009 rail, each with its own gas account. Every payer pays twice (a per-payer daily cap of one price, counted
 * in the shared store, refuses one of the two), out of one client budget shared through the same database. Each
 * payment is sent to two instances at once, then retried on a third (and on, until it has an answer). Mid-run one
 * instance is SIGKILLed and (cluster) the primary holding the store's slot is failed over.
 *
 * Lightning payments (one per payer, `SCALE_LN_PAYERS`) run in the same pool through the same kills: every instance
 * takes L402 on bob's node of the LND stand-in; alice pays each invoice once and the credential goes to two instances at
 * once, then a third: one receipt per payment, its invoice settled for the price, alice down one price per payment.
 *
 * Checked on the chain and in the store: one settlement per payment (its nonce used once, by the transaction its
 * receipt names), one receipt per payment whatever instance answered, every payment served once (one 200), no
 * payer past the cap, the client budget never passed, nothing pending after a reconcile pass. Then the throughput of
 * 1, 2 and 4 instances behind the proxy is printed.
 *
 * Counts: `SCALE_PAYERS` payers (in `npm test`: 16, so 32 payments; `npm run scale`: 1,000, so 2,000 payments) and
 * `SCALE_THROUGHPUT` payments per instance count for the throughput figures (in `npm test`: 0, skipped, since it
 * starts seven more instances per store; `npm run scale`: 200).
 */
import { randomBytes } from 'node:crypto';
import { getInvoice, pay } from 'ln-service';
import pg from 'pg';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client, evmWallet, exactTokenAbi } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { formatL402Authorization, parseL402Challenge } from '../../src/protocol/l402';
import type { BudgetLedger, Reservation } from '../../src/client/budgetLedger';
import { BudgetExceededError } from '../../src/core/errors';
import { generateReceiptKey } from '../../src/core/receipt/signer';
import { RECEIPT_EXTENSION_KEY, SignedReceiptSchema, type SignedReceipt } from '../../src/core/receipt/receipt';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from '../../src/protocol/headers';
import { createPostgresBudgetLedger } from '../../src/stores/postgresBudgetLedger';
import { migratePostgres } from '../../src/stores/postgresSchema';
import { createRedisBudgetLedger } from '../../src/stores/redisBudgetLedger';
import { startPostgresServer, type PostgresServer } from '../support/postgresServer';
import { startRedisCluster, type RedisClusterServer } from '../support/redisCluster';
import { get, roundRobinProxy, startInstances, type Answer, type Instance } from './support/instances';
import type { ScaleServerConfig, ScaleStoreConfig } from './support/scaleServer';

const PAYERS = Number(process.env.SCALE_PAYERS ?? 16);
const THROUGHPUT = Number(process.env.SCALE_THROUGHPUT ?? 0);
const INSTANCES = Number(process.env.SCALE_INSTANCES ?? 4);
const CONCURRENCY = Number(process.env.SCALE_CONCURRENCY ?? 16);
const PRICE = 10_000n;
/** The client budget shared by every payer: seven eighths of the payers can pay (holds of refused payments come back). */
const FLEET_BUDGET = PRICE * BigInt(Math.floor((PAYERS * 7) / 8));
const GAS_ACCOUNTS = ['facilitator', 'deployer', 'poor', 'payer2'] as const;
const ORIGIN = 'http://shop.test';
/** Generous: a loaded 2-core machine settles a few payments a second on one anvil. */
const TIMEOUT_MS = Math.max(600_000, (PAYERS * 2 + THROUGHPUT * 3) * 3_000);

/** Lightning payments per scenario (`SCALE_LN_PAYERS`, default as many as the EVM payers), 21 sat each. */
const LN_PAYERS = Number(process.env.SCALE_LN_PAYERS ?? PAYERS);
const LN_PRICE = 21_000n;

let evm: EvmDevnet;
let ln: LightningDevnet;
beforeAll(async () => {
  [evm, ln] = await Promise.all([startEvmDevnet(), startLightningDevnet()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([evm?.stop(), ln?.stop()]);
});

type Payer = { key: Hex; address: `0x${string}` };

/** Fresh payers, each minted enough for two payments. */
async function mintPayers(n: number): Promise<Payer[]> {
  const payers = Array.from({ length: n }, () => {
    const key = generatePrivateKey();
    return { key, address: privateKeyToAccount(key).address };
  });
  for (const p of payers) await evm.mint(p.address, PRICE * 2n);
  return payers;
}

async function configs(store: ScaleStoreConfig, n: number): Promise<ScaleServerConfig[]> {
  const shared = {
    store,
    challengeSecret: randomBytes(32).toString('hex'),
    receiptJwk: await generateReceiptKey(),
    price: PRICE.toString(),
    perPayerDaily: PRICE.toString(),
    settleLeaseMs: 10_000,
    // Every instance takes Lightning on bob's node, with one macaroon root key (as behind one load balancer).
    lightning: {
      socket: ln.nodes.bob.socket,
      cert: ln.nodes.bob.cert,
      macaroon: ln.nodes.bob.macaroon,
      network: ln.network,
      rootKeyHex: randomBytes(32).toString('hex'),
      price: LN_PRICE.toString(),
    },
  };
  return Array.from({ length: n }, (_, i) => ({
    ...shared,
    evm: {
      rpcUrl: evm.rpcUrl,
      chainId: evm.chainId,
      token: { address: evm.token.address, name: evm.token.name, version: evm.token.version },
      payTo: evm.accounts.payee.address,
      gasKey: evm.accounts[GAS_ACCOUNTS[i % GAS_ACCOUNTS.length] as (typeof GAS_ACCOUNTS)[number]].privateKey as Hex,
    },
  }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function receiptOf(answer: Answer): SignedReceipt | undefined {
  const header = answer.headers['payment-response'];
  if (!header) return undefined;
  const parsed = SignedReceiptSchema.safeParse(decodePaymentResponseHeader(header).extensions?.[RECEIPT_EXTENSION_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** What became of one payment. */
type Outcome = {
  tag: string;
  payer: string;
  nonce: string;
  ok: number;
  receipts: SignedReceipt[];
  refused?: string;
  budget?: true;
  answers: string[];
};

/** Runs `work` over `items` with at most `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i] as T, i);
      }
    }),
  );
  return out;
}

/**
 * One payment: the 402 through the proxy, a hold on the shared client budget, the signed payment sent to two live
 * instances at once, then to a third, then on (every 300 ms) until one answer carries the receipt or a 402 refusal.
 */
async function payOnce(
  payer: Payer,
  tag: string,
  proxyUrl: string,
  live: () => Instance[],
  ledger: BudgetLedger,
  round: number,
): Promise<Outcome> {
  const unpaid = await get(proxyUrl, '/paid');
  if (unpaid.status !== 402) throw new Error(`expected a 402, got ${unpaid.status}: ${unpaid.body}`);
  const [offer] = decodePaymentRequiredHeader(unpaid.headers['payment-required'] ?? '').accepts;
  if (!offer) throw new Error('no offer');
  const outcome: Outcome = { tag, payer: payer.address, nonce: '', ok: 0, receipts: [], answers: [] };
  let hold: Reservation;
  try {
    hold = await ledger.reserve({
      origin: ORIGIN,
      network: offer.network,
      asset: offer.asset,
      amount: PRICE,
      now: Date.now(),
    });
  } catch (error) {
    if (!(error instanceof BudgetExceededError)) throw error;
    return { ...outcome, budget: true };
  }
  const wallet = evmWallet(privateKeyToAccount(payer.key), { publicClient: evm.publicClient });
  const payload = await evmEip3009Client().createPayment(offer, wallet, {
    resource: { url: `${ORIGIN}/paid` },
    x402Version: 2,
    now: Date.now(),
  });
  outcome.nonce = (payload.authorization as { nonce: string }).nonce;
  const headers = {
    'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload }),
    'x-scale-payment': tag,
  };
  const record = (answer: Answer | undefined) => {
    if (!answer) return;
    outcome.answers.push(String(answer.status));
    if (answer.status === 200) outcome.ok++;
    const receipt = receiptOf(answer);
    if (receipt) outcome.receipts.push(receipt);
    else if (answer.status === 402)
      outcome.refused = decodePaymentRequiredHeader(answer.headers['payment-required'] ?? '').error ?? 'refused';
  };
  const at = (k: number) => {
    const list = live();
    return list[(round + k) % list.length]?.url ?? '';
  };
  const send = (k: number) => get(at(k), '/paid', headers).catch(() => undefined);
  const twice = await Promise.all([send(0), send(1)]);
  twice.forEach(record);
  record(await send(2));
  for (let k = 3; outcome.receipts.length === 0 && outcome.refused === undefined; k++) {
    if (k > 200) throw new Error(`payment ${tag} got no answer: ${outcome.answers.join(',')}`);
    await sleep(300);
    record(await send(k));
  }
  // The money left the wallet only with a receipt: keep the hold then, give it back after a refusal.
  if (outcome.receipts.length > 0) await hold.commit();
  else await hold.release();
  return outcome;
}

/** What became of one Lightning payment. */
type LnOutcome = { tag: string; ok: number; receipts: SignedReceipt[]; answers: string[] };

/**
 * One Lightning payment: the 402 through the proxy (an L402 challenge: macaroon + invoice of bob's node), alice pays the
 * invoice once, then the L402 credential is sent to two live instances at once, then to a third, then on (every
 * 300 ms) until an answer carries the receipt.
 */
async function payLightning(tag: string, proxyUrl: string, live: () => Instance[], round: number): Promise<LnOutcome> {
  // A 503 (the node slow to make an invoice on a loaded machine) is retried, as a client honouring Retry-After would.
  let unpaid = await get(proxyUrl, '/ln');
  for (let tries = 0; unpaid.status === 503 && tries < 10; tries++) {
    await sleep(500);
    unpaid = await get(proxyUrl, '/ln');
  }
  if (unpaid.status !== 402) throw new Error(`expected a 402, got ${unpaid.status}: ${unpaid.body}`);
  const challenge = parseL402Challenge(unpaid.headers['www-authenticate'] ?? '');
  if (!challenge) throw new Error('no L402 challenge');
  const { secret } = await pay({ lnd: ln.nodes.alice.lnd, request: challenge.invoice, max_fee_mtokens: '1000' });
  const headers = {
    Authorization: formatL402Authorization({ macaroons: [challenge.macaroon], preimage: secret }),
    'x-scale-payment': tag,
  };
  const outcome: LnOutcome = { tag, ok: 0, receipts: [], answers: [] };
  const record = (answer: Answer | undefined) => {
    if (!answer) return;
    outcome.answers.push(String(answer.status));
    if (answer.status === 200) outcome.ok++;
    const receipt = receiptOf(answer);
    if (receipt) outcome.receipts.push(receipt);
  };
  const at = (k: number) => {
    const list = live();
    return list[(round + k) % list.length]?.url ?? '';
  };
  const send = (k: number) => get(at(k), '/ln', headers).catch(() => undefined);
  (await Promise.all([send(0), send(1)])).forEach(record);
  record(await send(2));
  for (let k = 3; outcome.receipts.length === 0; k++) {
    if (k > 200) throw new Error(`Lightning payment ${tag} got no receipt: ${outcome.answers.join(',')}`);
    await sleep(300);
    record(await send(k));
  }
  return outcome;
}

/**
 * Checks the Lightning payments: each paid once by alice (her channel balance fell by exactly one price each), one
 * receipt each whatever instance answered (every answer that carried one carried the same), naming an invoice of
 * bob's that is settled for the price, and no two payments sharing a settlement.
 */
async function checkLightning(outcomes: LnOutcome[], aliceBefore: bigint): Promise<void> {
  expect(aliceBefore - ln.channelBalance('alice')).toBe(LN_PRICE * BigInt(outcomes.length));
  const references = new Set<string>();
  for (const o of outcomes) {
    expect(new Set(o.receipts.map((r) => r.id)).size, `${o.tag}: one receipt`).toBe(1);
    const [receipt] = o.receipts;
    if (!receipt) throw new Error(`${o.tag}: no receipt`);
    expect(receipt.status).toBe('settled');
    expect(receipt.amount).toBe(LN_PRICE.toString());
    expect(o.ok, `${o.tag}: served (${o.answers.join(',')})`).toBeGreaterThanOrEqual(1);
    references.add(receipt.reference);
    const invoice = await getInvoice({ lnd: ln.nodes.bob.lnd, id: receipt.reference });
    expect(invoice.is_confirmed, `${o.tag}: invoice settled`).toBe(true);
    expect(BigInt(invoice.received_mtokens)).toBe(LN_PRICE);
  }
  expect(references.size).toBe(outcomes.length);
}

/** Runs the scale scenario on one store; `disrupt` is called once a third of the payments are done. */
async function scenario(
  name: string,
  store: ScaleStoreConfig,
  ledgers: BudgetLedger[],
  disrupt: (instances: Instance[]) => Promise<string>,
): Promise<void> {
  const payers = await mintPayers(PAYERS);
  const instances = await startInstances(await configs(store, INSTANCES));
  const live = () => instances.filter((i) => i.alive);
  const proxy = await roundRobinProxy(() => live().map((i) => i.url));
  try {
    // Each payer's two EVM payments, then (for the first LN_PAYERS) one Lightning payment, interleaved.
    type Job = { kind: 'evm'; payer: Payer; tag: string } | { kind: 'ln'; tag: string };
    const jobs: Job[] = payers.flatMap((payer, p): Job[] => [
      ...[0, 1].map((second): Job => ({ kind: 'evm', payer, tag: `${name}-${p}-${second}` })),
      ...(p < LN_PAYERS ? [{ kind: 'ln', tag: `${name}-ln-${p}` } as const] : []),
    ]);
    const aliceBefore = ln.channelBalance('alice');
    let done = 0;
    let disruption: Promise<string> | undefined;
    const started = Date.now();
    const results = await pool(jobs, CONCURRENCY, async (job, i) => {
      const result =
        job.kind === 'evm'
          ? ({
              kind: 'evm',
              outcome: await payOnce(
                job.payer,
                job.tag,
                proxy.url,
                live,
                ledgers[i % ledgers.length] as BudgetLedger,
                i,
              ),
            } as const)
          : ({ kind: 'ln', outcome: await payLightning(job.tag, proxy.url, live, i) } as const);
      if (++done === Math.ceil(jobs.length / 3)) disruption = disrupt(instances);
      return result;
    });
    const outcomes = results.flatMap((r) => (r.kind === 'evm' ? [r.outcome] : []));
    const lnOutcomes = results.flatMap((r) => (r.kind === 'ln' ? [r.outcome] : []));
    const seconds = (Date.now() - started) / 1000;
    const what = await disruption;

    // Reconcile from a surviving instance: nothing may stay pending.
    const survivor = live()[0];
    if (!survivor) throw new Error('no instance left');
    const reconciled = await survivor.reconcile();
    expect(reconciled.stillPending).toBe(0);

    // One settlement per payment: each used nonce is used once on chain, by the transaction its receipt names.
    const used = await evm.publicClient.getContractEvents({
      address: evm.token.address,
      abi: exactTokenAbi,
      eventName: 'AuthorizationUsed',
      fromBlock: 0n,
    });
    const mine = new Map(payers.map((p) => [p.address.toLowerCase(), p]));
    const settledOnChain = used.filter((log) => mine.has(String(log.args.authorizer).toLowerCase()));
    const paid = outcomes.filter((o) => o.receipts.length > 0);
    for (const o of paid) {
      const references = new Set(o.receipts.map((r) => r.reference));
      const ids = new Set(o.receipts.map((r) => r.id));
      expect(ids.size, `${o.tag}: one receipt`).toBe(1);
      expect(references.size, `${o.tag}: one settlement reference`).toBe(1);
      const onChain = settledOnChain.filter(
        (log) =>
          String(log.args.nonce) === o.nonce && String(log.args.authorizer).toLowerCase() === o.payer.toLowerCase(),
      );
      expect(
        onChain.map((log) => log.transactionHash),
        `${o.tag}: settled once, by the receipt's transaction`,
      ).toEqual([...references]);
      // served once: exactly one 200 among every answer this payment got
      expect(o.ok, `${o.tag}: ${o.answers.join(',')}`).toBe(1);
    }
    // No lost receipt: every settlement on chain belongs to a payment that holds its receipt.
    expect(settledOnChain).toHaveLength(paid.length);
    // The per-payer cap (one price), shared by every instance: at most one of each payer's two payments settled.
    const perPayer = new Map<string, number>();
    for (const log of settledOnChain)
      perPayer.set(String(log.args.authorizer), (perPayer.get(String(log.args.authorizer)) ?? 0) + 1);
    expect(Math.max(...perPayer.values())).toBe(1);
    // The client budget shared by every payer: never passed, on chain nor in the ledger.
    const budget = { asset: evm.token.address, limit: FLEET_BUDGET, window: 'day' as const };
    expect(PRICE * BigInt(settledOnChain.length)).toBeLessThanOrEqual(FLEET_BUDGET);
    expect(await (ledgers[0] as BudgetLedger).used(budget, ORIGIN)).toBe(PRICE * BigInt(paid.length));
    // The handlers of the surviving instances (the killed one's count died with it). A handler can run twice for one
    // payment when an instance reconciles a broadcast another is still confirming (it records the settlement first
    // and serves; the settler then answers 409 claim_lost): the client still gets one 200, counted above.
    const served = await Promise.all(live().map((i) => i.served()));
    const byTag = new Map<string, number>();
    for (const counts of served)
      for (const [tag, n] of Object.entries(counts)) byTag.set(tag, (byTag.get(tag) ?? 0) + n);
    const handlerTwice = [...byTag].filter(([tag, n]) => n > 1 && !tag.includes('-ln-')).length;
    // only paid requests reach a handler
    expect(
      [...byTag.keys()].every((tag) => paid.some((o) => o.tag === tag) || lnOutcomes.some((o) => o.tag === tag)),
    ).toBe(true);

    // Lightning: one settlement and one receipt per payment, whatever instances answered.
    await checkLightning(lnOutcomes, aliceBefore);
    const lnServed = lnOutcomes.reduce((n, o) => n + o.ok, 0);

    const refused = outcomes.filter((o) => o.refused !== undefined).length;
    const overBudget = outcomes.filter((o) => o.budget).length;
    console.log(
      `[scale] ${name}: ${jobs.length} payments (${outcomes.length} EVM, ${lnOutcomes.length} Lightning) by ${PAYERS} payers over ${INSTANCES} instances in ${seconds.toFixed(1)} s (${(jobs.length / seconds).toFixed(1)}/s): ` +
        `${lnOutcomes.length} Lightning payments settled once each with one receipt (the reusable L402 credential served ${lnServed} of their ${lnOutcomes.reduce((n, o) => n + o.answers.length, 0)} sends), ` +
        `${paid.length} EVM payments settled once each (handler run twice for ${handlerTwice}), ${refused} refused by the shared per-payer cap, ${overBudget} stopped by the shared client budget; ${what}; ` +
        `reconcile: ${JSON.stringify(reconciled)}`,
    );
  } finally {
    await proxy.close();
    await Promise.all(instances.map((i) => i.stop()));
  }
}

/** Paid requests per second through the proxy with 1, 2 and 4 instances (fresh payers, one payment each). */
async function throughput(
  name: string,
  store: (run: number) => Promise<ScaleStoreConfig>,
  ledger: BudgetLedger,
): Promise<string> {
  const figures: string[] = [];
  for (const n of [1, 2, 4]) {
    const payers = await mintPayers(THROUGHPUT);
    const instances = await startInstances(await configs(await store(n), n));
    const live = () => instances.filter((i) => i.alive);
    const proxy = await roundRobinProxy(() => live().map((i) => i.url));
    try {
      const started = Date.now();
      const outcomes = await pool(payers, CONCURRENCY, (payer, i) =>
        payOnce(payer, `${name}-tp${n}-${i}`, proxy.url, live, ledger, i),
      );
      const seconds = (Date.now() - started) / 1000;
      // Every payment settles once and is answered with one 200 (with its receipt), whatever instance took it.
      const odd = outcomes.filter(
        (o) => !(o.receipts.length > 0 && o.ok === 1 && new Set(o.receipts.map((r) => r.id)).size === 1),
      );
      expect(odd.map((o) => `${o.tag}: ${o.answers.join(',')} ${o.refused ?? ''}`)).toEqual([]);
      figures.push(`${n} instance${n > 1 ? 's' : ''}: ${(THROUGHPUT / seconds).toFixed(1)} paid/s`);
    } finally {
      await proxy.close();
      await Promise.all(instances.map((i) => i.stop()));
    }
  }
  const line = `[scale] ${name} throughput (${THROUGHPUT} payments each, ${CONCURRENCY} at a time): ${figures.join(', ')}`;
  console.log(line);
  return line;
}

describe(`scale: ${INSTANCES} instances behind a round-robin proxy, ${PAYERS} payers paying twice each`, () => {
  it(
    'over Postgres: one settlement and one receipt per payment with an instance SIGKILLed mid-run; caps and budget hold',
    async () => {
      const server: PostgresServer = await startPostgresServer();
      const pools: pg.Pool[] = [];
      const poolOf = () => {
        const p = new pg.Pool({ connectionString: server.url, max: 10 });
        p.on('error', () => {});
        pools.push(p);
        return p;
      };
      try {
        await migratePostgres({ pool: poolOf() }, { tablePrefix: 'scale_' });
        const budgets = [{ asset: evm.token.address, limit: FLEET_BUDGET, window: 'day' as const }];
        const ledgers = [0, 1].map(() =>
          createPostgresBudgetLedger({ pool: poolOf(), tablePrefix: 'scale_', budgets }),
        );
        await scenario(
          'postgres',
          { kind: 'postgres', url: server.url, tablePrefix: 'scale_' },
          ledgers,
          async (instances) => {
            const victim = instances[0];
            await victim?.kill();
            return `instance ${victim?.pid} SIGKILLed mid-run`;
          },
        );
        await migratePostgres({ pool: poolOf() }, { tablePrefix: 'tp_' });
        const free = createPostgresBudgetLedger({ pool: poolOf(), tablePrefix: 'tp_', budgets: [] });
        if (THROUGHPUT > 0)
          await throughput(
            'postgres',
            async (run) => {
              await migratePostgres({ pool: poolOf() }, { tablePrefix: `tp${run}_` });
              return { kind: 'postgres', url: server.url, tablePrefix: `tp${run}_` };
            },
            free,
          );
      } finally {
        await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
        await server.stop();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'over a Redis Cluster (3 primaries + replicas): the same with an instance SIGKILLed and the store primary failed over',
    async () => {
      const cluster: RedisClusterServer = await startRedisCluster({ primaries: 3, replicasEach: 1 });
      try {
        const budgets = [{ asset: evm.token.address, limit: FLEET_BUDGET, window: 'day' as const }];
        const ledgers = [0, 1].map(() =>
          createRedisBudgetLedger({ redis: cluster.connect(), keyPrefix: '{fleet}:', budgets }),
        );
        await scenario(
          'redis-cluster',
          { kind: 'redis-cluster', nodes: cluster.startupNodes, keyPrefix: '{shop}:' },
          ledgers,
          async (instances) => {
            const victim = instances[0];
            await victim?.kill();
            // The stores WAIT for a replica after each decisive write, and a record lost even so is found on the chain
            // (recoverLostSettlement): the hard primary kill runs in npm test too (X402_SCALE_FAILOVER=0 skips it).
            if (process.env.X402_SCALE_FAILOVER === '0') return `instance ${victim?.pid} SIGKILLed mid-run`;
            const { killed, promoted } = await cluster.failOver('{shop}:pending');
            return `instance ${victim?.pid} SIGKILLed and the store's primary (port ${killed}) failed over to ${promoted} mid-run`;
          },
        );
        const free = createRedisBudgetLedger({ redis: cluster.connect(), keyPrefix: '{tp}:', budgets: [] });
        if (THROUGHPUT > 0)
          await throughput(
            'redis-cluster',
            async (run) => ({
              kind: 'redis-cluster',
              nodes: cluster.startupNodes.filter((n) => cluster.nodes.find((x) => x.port === n.port && !x.exited)),
              keyPrefix: `{tp${run}}:`,
            }),
            free,
          );
      } finally {
        await cluster.stop();
      }
    },
    TIMEOUT_MS,
  );
});
