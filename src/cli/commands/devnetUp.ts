import { expectPositionals } from '../args';
import { defineCommand } from '../command';
import { describeDevnets, exampleServerEnv, exportLines, formatDevnets, payerWalletEnv } from '../describeDevnets';
import { elapsed, print, printJson, progress } from '../output';
import { devnetPackages, requirePackages } from '../requirePackages';
import { runUntilSignal } from '../waitForShutdown';

const help = `Usage: x402-rails devnet up [--json]

Starts every rail's local devnet on free ports and keeps them running until Ctrl-C:
  EVM        anvil with the rUSD EIP-3009/EIP-2612 token, funded anvil dev accounts
  Solana     litesvm behind a JSON-RPC front, an SPL and a Token-2022 mint, funded keypairs
  Lightning  an LND-protocol stand-in (alice, bob, carol) with open channels

Prints every endpoint and every funded key. The keys are public development keys: never send real funds to them.

Options:
  --json      print one JSON document on stdout (progress stays on stderr)
  -h, --help  show this help`;

/** `devnet up`: start all devnets, print endpoints and keys, stop cleanly on SIGINT/SIGTERM. */
export const devnetUp = defineCommand({
  name: 'devnet up',
  summary: 'start the EVM, Solana and Lightning devnets and print endpoints and funded keys',
  help,
  options: {},
  async run({ values, positionals }) {
    expectPositionals('devnet up', positionals, []);
    requirePackages('devnet up', devnetPackages, { dev: true });
    progress('Starting the EVM, Solana and Lightning devnets…');
    const started = performance.now();
    const start = async () => {
      const { startDevnets } = await import('../../../fixtures/startDevnets');
      return startDevnets({ evm: true, solana: true, lightning: true });
    };
    return runUntilSignal('the devnets', start, (devnets) => {
      const t = devnets.timings;
      const readyMs = elapsed(started);
      progress(
        `Devnets up in ${readyMs} ms (loading ${readyMs - t.totalMs} ms; in parallel: evm ${t.evmMs} ms, solana ${t.solanaMs} ms, lightning ${t.lightningMs} ms).`,
      );
      const description = describeDevnets(devnets);
      const walletEnv = payerWalletEnv(description);
      const serverEnv = exampleServerEnv(description);
      if (values.json) printJson({ ...description, walletEnv, serverEnv, timings: { ...t, readyMs } });
      else
        print(
          [
            formatDevnets(description),
            '',
            'Pay with these wallets (npx x402-rails pay <url>, or npx tsx examples/client.ts <url> in a clone):',
            ...exportLines(walletEnv),
            '',
            'Serve the examples of a clone on this chain (npx tsx examples/hono-server.ts):',
            `export ${Object.entries(serverEnv)
              .map(([name, value]) => `${name}=${value}`)
              .join(' ')}`,
            '',
          ].join('\n'),
        );
    });
  },
});
