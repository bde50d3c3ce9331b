/**
 * One paid server process for the load tests, started with `fork(…, { execArgv: ['--import', 'tsx'] })` and
 * configured by the `X402_LOAD_SERVER` environment variable (JSON {@link LoadServerConfig}). It serves
 * `GET /paid` behind the paywall with the real EVM EIP-3009 rail over the test's anvil, on a store shared with
 * the other process (a SQLite file or a Redis server), answers `{ type: 'ready', url }` over IPC once
 * listening, `{ type: 'stats', … }` when sent `'stats'`, and exits when sent `'stop'` or when its parent goes.
 */
import { Redis } from 'ioredis';
import type { JWK } from 'jose';
import { createReceiptSigner, paywall, type PaymentStore } from '../../../src/index';
import { serveFetch } from '../../../src/server/node';
import { createRedisPaymentStore } from '../../../src/stores/redisPaymentStore';
import { createSqlitePaymentStore } from '../../../src/stores/sqlitePaymentStore';
import { evmProcessRail, type EvmProcessConfig } from '../../support/evmProcessRail';

/** What the parent passes to each server process. */
export type LoadServerConfig = {
  store: { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string; keyPrefix: string };
  evm: EvmProcessConfig;
  /** Hex of the challenge secret both processes share (as instances behind one load balancer do). */
  challengeSecret: string;
  /** The receipt key both processes share. */
  receiptJwk: JWK;
  /** Price of `GET /paid`, atomic units. */
  price: string;
};

/** What a server process counted. */
export type LoadServerStats = { type: 'stats'; pid: number; paymentHeaders: number; statuses: Record<string, number> };

/** Messages a server process sends. */
export type LoadServerMessage = { type: 'ready'; url: string; pid: number } | LoadServerStats;

async function main(): Promise<void> {
  const config = JSON.parse(process.env.X402_LOAD_SERVER ?? '') as LoadServerConfig;
  let redis: Redis | undefined;
  let store: PaymentStore;
  let closeStore = () => {};
  if (config.store.kind === 'sqlite') {
    const sqlite = createSqlitePaymentStore({ path: config.store.path });
    store = sqlite;
    closeStore = () => sqlite.close();
  } else {
    redis = new Redis(config.store.url, { maxRetriesPerRequest: 2 });
    store = createRedisPaymentStore({ redis, keyPrefix: config.store.keyPrefix });
  }
  const rail = evmProcessRail(config.evm);
  const pw = paywall(
    { 'GET /paid': { accepts: [{ rail: 'evm-eip3009', amount: BigInt(config.price) }] } },
    {
      rails: [rail],
      store,
      signer: await createReceiptSigner({ privateJwk: config.receiptJwk }),
      challengeSecret: Buffer.from(config.challengeSecret, 'hex'),
    },
  );
  const stats: LoadServerStats = { type: 'stats', pid: process.pid, paymentHeaders: 0, statuses: {} };
  const handler = pw.wrap(() => Response.json({ served: true, pid: process.pid }));
  const server = await serveFetch(async (request) => {
    if (request.headers.has('PAYMENT-SIGNATURE')) stats.paymentHeaders++;
    const response = await handler(request);
    stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
    return response;
  });
  const stop = async () => {
    await server.close();
    closeStore();
    await redis?.quit();
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'stats') process.send?.(stats);
    if (message === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  process.send?.({ type: 'ready', url: server.url, pid: process.pid } satisfies LoadServerMessage);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
