/**
 * `npm run bench`: every rail side by side. Figures are ratios against a baseline measured in the same
 * run, never absolute pass/fail thresholds.
 */
import { benchEvm } from './evm.bench';
import type { BenchRow } from './measure';

const suites: Array<[string, () => Promise<BenchRow[]>]> = [['evm', benchEvm]];

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const [name, run] of suites) {
    process.stdout.write(`bench ${name}… `);
    const t = performance.now();
    rows.push(...(await run()));
    console.log(`${Math.round(performance.now() - t)} ms`);
  }
  console.table(rows);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
