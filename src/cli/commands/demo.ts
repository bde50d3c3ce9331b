import { RECEIPT_JWKS_PATH } from '../../core/receipt/receipt';
import type { Demo } from '../../../fixtures/demo/demoServer';
import { expectPositionals, parsePort } from '../args';
import { defineCommand } from '../command';
import {
  describeDevnets,
  devnetAmount,
  exportLines,
  formatDevnets,
  payerWalletEnv,
  type DevnetsDescription,
} from '../describeDevnets';
import { UsageError } from '../errors';
import { elapsed, print, printJson, progress, table } from '../output';
import { devnetPackages, requirePackages, serverPackages } from '../requirePackages';
import type { WalletSettings } from '../walletConfig';
import { runUntilSignal } from '../waitForShutdown';

const help = `Usage: x402-rails demo [--serve [--port <n>] [--json]]

Without --serve: runs the three-rail demo (same as \`npm run demo\`): starts every devnet and a paid server,
six clients pay it (or are refused), prints a table of receipts, exits non-zero if any step failed.

With --serve: keeps the devnets and the demo's paid server running until Ctrl-C, and prints its URL, the
price on every rail, the funded wallet keys of every rail and a curl line that shows the 402, so any x402
or L402 client (curl included) can be pointed at it. A browser opening the URL gets the paywall page
(pay with an injected EVM wallet, a Wallet Standard Solana wallet, or the Lightning invoice).

Options:
  --serve      keep the paid server and the devnets running
  --port <n>   port of the paid server (with --serve; default: a free port)
  --json       with --serve: print one JSON document on stdout
  -h, --help   show this help`;

/** How each rail's price reads to a human. */
const priceUnits: Record<string, string> = {
  'evm-eip3009': 'atomic rUSD (6 decimals), EIP-3009 transferWithAuthorization',
  'evm-eip2612': 'atomic rUSD (6 decimals), EIP-2612 permit',
  'solana-spl': 'atomic SPL token (6 decimals)',
  'lightning-l402': 'msat, BOLT11 invoice + L402 macaroon',
};
/** How each rail is paid, after its price. */
const priceMethods: Record<string, string> = {
  'evm-eip3009': 'EIP-3009 transferWithAuthorization',
  'evm-eip2612': 'EIP-2612 permit',
  'solana-spl': 'SPL TransferChecked',
  'lightning-l402': 'BOLT11 invoice + L402 macaroon',
};

/** What `demo --serve --json` prints. */
export type DemoServeDescription = {
  url: string;
  reportUrl: string;
  jwksUrl: string;
  /** `amount` in atomic units (`unit` says which); `display` in whole units for people (`0.01 rUSD`, `21 sat`). */
  prices: Array<{ rail: string; amount: string; unit: string; display: string }>;
  curl: string;
  /** Wallet settings of `x402-rails pay` for the devnets' payers, by variable name. */
  walletEnv: WalletSettings;
  devnets: DevnetsDescription;
};

/** `demo`: the three-rail demo, or with `--serve` its paid server kept running for other clients. */
export const demo = defineCommand({
  name: 'demo',
  summary: 'run the three-rail demo, or keep its paid server running (--serve)',
  help,
  options: { serve: { type: 'boolean' }, port: { type: 'string' } },
  async run({ values, positionals }) {
    expectPositionals('demo', positionals, []);
    requirePackages('demo', [...devnetPackages, ...serverPackages, '@modelcontextprotocol/sdk'], { dev: true });
    if (!values.serve) {
      if (values.port !== undefined) throw new UsageError('--port needs --serve.', 'demo');
      if (values.json) throw new UsageError('--json needs --serve (the demo run prints a table).', 'demo');
      const { runDemo } = await import('../../../fixtures/demo/runDemo');
      return runDemo();
    }
    const port = values.port === undefined ? undefined : parsePort('demo', values.port);
    progress('Starting the EVM, Solana and Lightning devnets and the paid demo server…');
    const started = performance.now();
    const start = async () => {
      const { startDemo } = await import('../../../fixtures/demo/demoServer');
      return startDemo(port === undefined ? {} : { port });
    };
    return runUntilSignal('the server and the devnets', start, (running) => {
      progress(`Up in ${elapsed(started)} ms.`);
      const description = describeDemo(running);
      if (values.json) printJson(description);
      else print(formatServe(description));
    });
  },
});

function describeDemo(running: Demo): DemoServeDescription {
  const devnets = describeDevnets(running.devnets);
  return {
    url: running.url,
    reportUrl: running.reportUrl,
    jwksUrl: `${running.url}${RECEIPT_JWKS_PATH}`,
    prices: running.accepts.map((a) => {
      const amount = BigInt(a.amount).toString();
      return {
        rail: a.rail,
        amount,
        unit: priceUnits[a.rail] ?? 'atomic units',
        display: devnetAmount(a.rail, amount, devnets),
      };
    }),
    curl: `curl -i ${running.reportUrl}`,
    walletEnv: payerWalletEnv(devnets),
    devnets,
  };
}

/** The text `demo --serve` prints: every command line in it runs as printed, in a clone or an install. */
export function formatServe(d: DemoServeDescription): string {
  return [
    `Paid demo server: ${d.url}`,
    `  GET ${d.reportUrl} accepts, in the server's order:`,
    table(
      d.prices.map((p) => [
        p.rail,
        `${p.display} (${p.amount} atomic)${priceMethods[p.rail] ? `, ${priceMethods[p.rail]}` : ''}`,
      ]),
      '    ',
    ),
    `  Receipts are signed; the issuer's JWKS: ${d.jwksUrl}`,
    '',
    `Open ${d.reportUrl} in a browser for the paywall page, or see the 402 (PAYMENT-REQUIRED for x402,`,
    'WWW-Authenticate: L402 for Lightning):',
    `  ${d.curl}`,
    '',
    'Pay it with this CLI (payer wallets of every rail):',
    ...exportLines(d.walletEnv).map((line) => `  ${line}`),
    `  npx x402-rails pay ${d.reportUrl}`,
    '',
    formatDevnets(d.devnets),
    '',
  ].join('\n');
}
