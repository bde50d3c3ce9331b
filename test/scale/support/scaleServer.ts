/**
 * One paid server instance for the scale test, started with `fork(…, { execArgv: ['--import', 'tsx'] })` and
 * configured by `X402_SCALE_SERVER` (JSON {@link ScaleServerConfig}). It serves `GET /paid` behind the paywall with
 * the real EVM EIP-3009 rail over the test's anvil (its own gas account), with risk controls whose per-payer daily
 * cap is counted in the shared store, on a payment store shared with every other instance: Postgres (a `pg` Pool) or
 * a Redis Cluster (an ioredis Cluster). IPC: answers `{ type: 'ready', url }` once listening, `{ type: 'served', n }`
 * to 'served', the reconcile report to 'reconcile', and exits on 'stop' or when its parent goes.
 */
import { Cluster } from 'ioredis';
import { authenticatedLndGrpc } from 'ln-service';
import { lightningServer } from '../../../adapters/lightning/index';
import type { JWK } from 'jose';
import pg from 'pg';
import {
  createReceiptSigner,
  paywall,
  type PaymentStore,
  type RoutesConfig,
  type ServerRail,
} from '../../../src/index';
import { createPostgresCapCounter } from '../../../src/risk/postgresCapCounter';
import { createRedisCapCounter } from '../../../src/risk/redisCapCounter';
import type { CapCounter } from '../../../src/risk/capCounter';
import { riskControls } from '../../../src/risk/riskControls';
import { serveFetch } from '../../../src/server/node';
import { createPostgresPaymentStore } from '../../../src/stores/postgresPaymentStore';
import { createRedisPaymentStore } from '../../../src/stores/redisPaymentStore';
import { evmProcessRail, type EvmProcessConfig } from '../../support/evmProcessRail';

/** Where the instances' shared state lives. */
export type ScaleStoreConfig =
  | { kind: 'postgres'; url: string; tablePrefix: string }
  | { kind: 'redis-cluster'; nodes: Array<{ host: string; port: number }>; keyPrefix: string };

/** What the parent passes to each instance. */
export type ScaleServerConfig = {
  store: ScaleStoreConfig;
  evm: EvmProcessConfig;
  /** Hex of the challenge secret every instance shares (as behind one load balancer). */
  challengeSecret: string;
  /** The receipt key every instance shares. */
  receiptJwk: JWK;
  /** Price of `GET /paid`, atomic units. */
  price: string;
  /** Most one payer may pay per day, atomic units (shared by every instance through the store). */
  perPayerDaily: string;
  /** Claim lease while a payment settles, ms (short, so a killed instance's claims are taken over soon). */
  settleLeaseMs: number;
  /**
   * The Lightning node every instance takes payments on (the LND stand-in of the test, over its gRPC port), and the
   * macaroon root key they share: `GET /ln` is then paid over L402 / x402 Lightning, at `price` msat.
   */
  lightning?: { socket: string; cert: string; macaroon: string; network: string; rootKeyHex: string; price: string };
};

/** Messages an instance sends. */
export type ScaleServerMessage =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'served'; served: Record<string, number> }
  | { type: 'reconciled'; settled: number; failed: number; pending: number; skipped: number; stillPending: number };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.X402_SCALE_SERVER ?? '') as ScaleServerConfig;
  let store: PaymentStore;
  let capCounter: CapCounter;
  let close: () => Promise<void>;
  if (config.store.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.store.url, max: 20 });
    pool.on('error', () => {});
    store = createPostgresPaymentStore({ pool, tablePrefix: config.store.tablePrefix });
    capCounter = createPostgresCapCounter({ pool, tablePrefix: config.store.tablePrefix });
    close = () => pool.end();
  } else {
    const cluster = new Cluster(config.store.nodes, {
      clusterRetryStrategy: (times) => Math.min(100 * times, 1_000),
      redisOptions: { maxRetriesPerRequest: 5 },
    });
    cluster.on('error', () => {});
    store = createRedisPaymentStore({ redis: cluster, keyPrefix: config.store.keyPrefix });
    capCounter = createRedisCapCounter({ redis: cluster, keyPrefix: config.store.keyPrefix });
    close = async () => {
      await cluster.quit().catch(() => cluster.disconnect());
    };
  }
  const rail = evmProcessRail(config.evm);
  const rails: ServerRail[] = [rail];
  const routes: RoutesConfig = { 'GET /paid': { accepts: [{ rail: 'evm-eip3009', amount: BigInt(config.price) }] } };
  if (config.lightning) {
    const { socket, cert, macaroon, network, rootKeyHex, price } = config.lightning;
    const ln = lightningServer({
      lnd: authenticatedLndGrpc({ socket, cert, macaroon }).lnd,
      network,
      rootKey: new Uint8Array(Buffer.from(rootKeyHex, 'hex')),
    });
    rails.push(ln);
    routes['GET /ln'] = { accepts: [{ rail: ln.id, amount: BigInt(price) }] };
  }
  const risk = riskControls({
    caps: { perPayerDaily: [{ asset: config.evm.token.address, max: BigInt(config.perPayerDaily) }] },
    capCounter,
    payerFailures: false,
  });
  const pw = paywall(routes, {
    rails,
    store,
    signer: await createReceiptSigner({ privateJwk: config.receiptJwk }),
    challengeSecret: Buffer.from(config.challengeSecret, 'hex'),
    issuer: 'http://shop.test',
    // a settled payment is never served again: the retry on a third instance gets the receipt with a 409
    replay: { max: 0 },
    settleLeaseMs: config.settleLeaseMs,
    extensions: [risk],
  });
  // Which payment (by the request's x-scale-payment tag) this instance's handler served, and how often.
  const served: Record<string, number> = {};
  const handler = pw.wrap((request) => {
    const tag = request.headers.get('x-scale-payment') ?? '?';
    served[tag] = (served[tag] ?? 0) + 1;
    return Response.json({ served: true, pid: process.pid });
  });
  const server = await serveFetch(handler);
  const stop = async () => {
    await server.close();
    await close();
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'served') process.send?.({ type: 'served', served } satisfies ScaleServerMessage);
    if (message === 'reconcile') {
      void (async () => {
        const report = await pw.reconcile();
        const stillPending = (await store.listPending()).length;
        process.send?.({
          type: 'reconciled',
          settled: report.settled.length,
          failed: report.failed.length,
          pending: report.pending.length,
          skipped: report.skipped.length,
          stillPending,
        } satisfies ScaleServerMessage);
      })();
    }
    if (message === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  process.send?.({ type: 'ready', url: server.url, pid: process.pid } satisfies ScaleServerMessage);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
