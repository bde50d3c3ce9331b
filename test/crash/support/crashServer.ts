/**
 * A paid server process that can die mid-settlement, for the crash tests. Started with `fork(…, { execArgv:
 * ['--import', 'tsx'] })` and configured by `X402_CRASH_SERVER` (JSON {@link CrashServerConfig}): `GET /paid`
 * behind the paywall with the real EIP-3009 rail over the test's anvil, on a SQLite store file. At startup it
 * reconciles what an earlier process left pending and reports it with `{ type: 'ready' }`. With `hangAt` set,
 * the first settlement stops right after its transaction is broadcast (before or after the intent is written)
 * and tells the parent `{ type: 'broadcast' }`, which then kills the process for real.
 */
import type { JWK } from 'jose';
import { createReceiptSigner, paywall, type ReconcileReport, type ServerRail } from '../../../src/index';
import { serveFetch } from '../../../src/server/node';
import { createSqlitePaymentStore } from '../../../src/stores/sqlitePaymentStore';
import { evmProcessRail, type EvmProcessConfig } from '../../support/evmProcessRail';

/** What the test passes to the server process. */
export type CrashServerConfig = {
  sqlitePath: string;
  evm: EvmProcessConfig;
  challengeSecret: string;
  receiptJwk: JWK;
  price: string;
  /** 0 for a free port; the restarted process takes the port of the one that died. */
  port: number;
  /** How long a claim lasts (so a claim of the dead process expires within the test). */
  settleLeaseMs: number;
  /** Where the first settlement hangs, waiting to be killed. */
  hangAt?: 'before-intent' | 'after-intent';
  /** At which broadcast of that settlement (EIP-2612 broadcasts a permit, then the transfer; default 1). */
  hangAtBroadcast?: number;
  /** The EVM method (default EIP-3009). */
  rail?: 'evm-eip3009' | 'evm-eip2612';
};

/** Messages of the server process. */
export type CrashServerMessage =
  | { type: 'ready'; url: string; port: number; report: ReconcileReport }
  | { type: 'broadcast'; reference: string };

/** Wraps a rail so that its settlement stops at the broadcast, before or after the paywall writes the intent. */
function hangingAtBroadcast(rail: ServerRail, at: 'before-intent' | 'after-intent', nth: number): ServerRail {
  let broadcasts = 0;
  return {
    ...rail,
    settle: (payload, req, ctx) =>
      rail.settle(payload, req, {
        ...ctx,
        onBroadcast: async (reference) => {
          if (++broadcasts < nth) return ctx.onBroadcast?.(reference);
          if (at === 'after-intent') await ctx.onBroadcast?.(reference);
          process.send?.({ type: 'broadcast', reference } satisfies CrashServerMessage);
          await new Promise(() => {}); // until the parent kills this process
        },
      }),
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.X402_CRASH_SERVER ?? '') as CrashServerConfig;
  const rail = evmProcessRail(config.evm, config.rail);
  const store = createSqlitePaymentStore({ path: config.sqlitePath });
  const pw = paywall(
    { 'GET /paid': { accepts: [{ rail: rail.id, amount: BigInt(config.price) }] } },
    {
      rails: [config.hangAt ? hangingAtBroadcast(rail, config.hangAt, config.hangAtBroadcast ?? 1) : rail],
      store,
      signer: await createReceiptSigner({ privateJwk: config.receiptJwk }),
      challengeSecret: Buffer.from(config.challengeSecret, 'hex'),
      settleLeaseMs: config.settleLeaseMs,
    },
  );
  const report = await pw.reconcile();
  const server = await serveFetch(
    pw.wrap(() => Response.json({ served: true, pid: process.pid })),
    { port: config.port },
  );
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', url: server.url, port: server.port, report } satisfies CrashServerMessage);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
