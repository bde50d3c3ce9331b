/**
 * The x402-rails demo: devnets up, one paid server, a client paying on each rail, receipts printed and
 * verified against the server's published JWKS. Exits non-zero when any step fails.
 */
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { payingFetch, receiptOf, type ClientRail, type Wallet } from '../src/index';
import { evmEip2612Client, evmEip3009Client, evmWallet } from '../adapters/evm/index';
import { startDemo } from '../fixtures/demo/demoServer';

type Row = { client: string; rail: string; network: string; amount: string; payer: string; reference: string; verified: string; ms: number };

async function main(): Promise<number> {
  const t0 = performance.now();
  process.stdout.write('Starting devnets and the paid server… ');
  const demo = await startDemo();
  console.log(`up in ${Math.round(performance.now() - t0)} ms at ${demo.url}`);
  const rows: Row[] = [];
  let failed = 0;
  try {
    const evmPayer = evmWallet(privateKeyToAccount(demo.evm.accounts.payer.privateKey as Hex), { publicClient: demo.evm.publicClient });
    const clients: Array<{ name: string; adapters: ClientRail[]; wallets: Wallet[] }> = [
      { name: 'EVM EIP-3009 client', adapters: [evmEip3009Client()], wallets: [evmPayer] },
      { name: 'EVM EIP-2612 client', adapters: [evmEip2612Client()], wallets: [evmPayer] },
    ];
    for (const c of clients) {
      const pay = payingFetch(fetch, { adapters: c.adapters, wallets: c.wallets });
      const started = performance.now();
      try {
        const res = await pay(demo.reportUrl);
        const outcome = receiptOf(res);
        const r = outcome?.receipt;
        if (res.status !== 200 || !r) throw new Error(`HTTP ${res.status}, receipt ${r ? 'present' : 'missing'}`);
        rows.push({
          client: c.name,
          rail: r.rail,
          network: r.network,
          amount: `${r.amount} ${short(r.asset)}`,
          payer: short(r.payer),
          reference: short(r.reference),
          verified: outcome.receiptError ? `NO (${outcome.receiptError.message})` : 'yes',
          ms: Math.round(performance.now() - started),
        });
        if (outcome.receiptError) failed++;
      } catch (error) {
        failed++;
        console.error(`✗ ${c.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    await demo.stop();
  }
  console.table(rows);
  console.log(failed === 0 ? `All ${rows.length} payments settled; every receipt verified against the server's JWKS.` : `${failed} step(s) failed.`);
  return failed === 0 ? 0 : 1;
}

function short(value: string): string {
  return value.length > 20 ? `${value.slice(0, 10)}…${value.slice(-6)}` : value;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
