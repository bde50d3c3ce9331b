/** Lightning benchmarks: offline L402 verify/s (macaroon + preimage), paid requests through the LND stand-in. */
import { LightningPayloadSchema, lightningClient, verifyL402Token } from '../adapters/lightning/index';
import { macaroonFromBase64 } from '../src/protocol/macaroon';
import { benchPaths, benchPrices, type BenchContext } from './setup';
import { paidRows, rate, ratio, throughput, type BenchRow } from './measure';

/** Real tokens (paid invoices) cycled through by the verification loop. */
const TOKENS = 32;

/** Offline L402 verifications per second on one core: macaroon HMAC chain, caveats and preimage of real paid tokens. */
export async function l402VerifyRate(ctx: BenchContext, ms = 1500): Promise<number> {
  const client = lightningClient({ maxFeeMsat: 1_000n });
  const createCtx = { resource: { url: ctx.url(benchPaths.lightning) }, x402Version: 2 as const, now: Date.now() };

  // Real tokens: each from a fresh challenge of the paywall, its invoice paid by alice to learn the preimage.
  const tokens = await Promise.all(
    Array.from({ length: TOKENS }, async () => {
      const [offer] = await ctx.offersOf(benchPaths.lightning);
      if (!offer) throw new Error('no Lightning offer');
      return client.createPayment(offer, ctx.lightningPayer, createCtx);
    }),
  );
  let i = 0;
  return throughput(
    async () => {
      const payload = LightningPayloadSchema.parse(tokens[i++ % tokens.length]);
      if (payload.macaroon === undefined) throw new Error('the payment carries no macaroon');
      const checked = verifyL402Token({
        rootKey: ctx.lightningRootKey,
        macaroon: macaroonFromBase64(payload.macaroon),
        preimage: payload.preimage,
        serviceName: 'x402',
        path: benchPaths.lightning,
        method: 'GET',
        amountMsat: benchPrices.lightning.toString(),
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (!checked.ok) throw new Error(checked.reason);
    },
    { ms },
  );
}

/** Lightning rows: L402 verifications without a node call, then paid requests/s and latency. */
export async function benchLightning(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const client = lightningClient({ maxFeeMsat: 1_000n });
  const verifyRate = await l402VerifyRate(ctx);
  const sha = ctx.baselines.sha256PerSecond;
  rows.push({
    rail: 'lightning',
    metric: 'L402 verifications (offline: macaroon HMAC chain + caveats + preimage)',
    value: rate(verifyRate),
    baseline: `${rate(sha)} sha256(1 KiB)`,
    ratio: ratio(verifyRate, sha),
  });

  // Paid requests end to end: challenge (invoice over gRPC), pay (alice → bob), verify (invoice lookup), receipt.
  const paid = ctx.paidRequest(benchPaths.lightning, { adapters: [client], wallets: [ctx.lightningPayer] });
  rows.push(
    ...(await paidRows('lightning', paid, {
      what: 'LND stand-in over gRPC',
      unpaid402PerSecond: await ctx.unpaidPerSecond(benchPaths.lightning),
    })),
  );
  return rows;
}
