/**
 * The x402-rails demo: every devnet up, one paid server taking four rails, six clients paying (or refused),
 * a table of receipts verified against the server's published JWKS. Exits non-zero when any step fails.
 */
import { NoAcceptableOfferError, payingFetch, receiptOf } from '../src/index';
import { demoClients } from '../fixtures/demo/demoClients';
import { startDemo } from '../fixtures/demo/demoServer';

type Row = { client: string; rail: string; network: string; amount: string; payer: string; reference: string; signature: string; ms: number };

async function main(): Promise<number> {
  const t0 = performance.now();
  process.stdout.write('Starting the EVM, Solana and Lightning devnets and the paid server… ');
  const demo = await startDemo();
  const t = demo.devnets.timings;
  console.log(`up in ${Math.round(performance.now() - t0)} ms (evm ${t.evmMs} ms, solana ${t.solanaMs} ms, lightning ${t.lightningMs} ms)`);
  console.log(`GET ${demo.reportUrl} accepts, in order: ${demo.accepts.map((a) => `${a.rail} ${a.amount}`).join(', ')}\n`);
  const rows: Row[] = [];
  let failed = 0;
  try {
    for (const client of demoClients(demo)) {
      const pay = payingFetch(fetch, client.options);
      const started = performance.now();
      try {
        const res = await pay(demo.reportUrl);
        const outcome = receiptOf(res);
        const r = outcome?.receipt;
        if (client.expectRefusal) throw new Error(`expected a refusal, got HTTP ${res.status}`);
        if (res.status !== 200 || !r) throw new Error(`HTTP ${res.status}, receipt ${r ? 'present' : 'missing'}`);
        if (outcome.receiptError) failed++;
        rows.push({
          client: client.name,
          rail: r.rail,
          network: short(r.network, 24),
          amount: `${r.amount} ${short(r.asset, 14)}`,
          payer: short(r.payer || '(node)', 14),
          reference: short(r.reference, 14),
          signature: outcome.receiptError ? 'INVALID' : 'verified',
          ms: Math.round(performance.now() - started),
        });
      } catch (error) {
        if (client.expectRefusal && error instanceof NoAcceptableOfferError) {
          const reasons = [...new Set(error.rejections.map((x) => x.reason))].join(', ');
          rows.push({ client: client.name, rail: '(refused before paying)', network: '', amount: '', payer: '', reference: reasons, signature: '', ms: Math.round(performance.now() - started) });
          continue;
        }
        failed++;
        console.error(`✗ ${client.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    await demo.stop();
  }
  console.table(rows);
  console.log(failed === 0 ? 'Every payment settled and every receipt verified against the server\'s JWKS; the spent budget was refused before paying.' : `${failed} step(s) failed.`);
  return failed === 0 ? 0 : 1;
}

function short(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 7)}…${value.slice(-6)}` : value;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
