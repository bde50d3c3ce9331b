import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatServe, type DemoServeDescription } from '../../src/cli/commands/demo';
import { answers, processesMatching } from './processes';
import { jsonOf, runCli, startCli, type RunningCli } from './runCli';

type DemoServeJson = {
  url: string;
  reportUrl: string;
  jwksUrl: string;
  prices: Array<{ rail: string; amount: string; unit: string }>;
  curl: string;
  walletEnv: Record<string, string>;
  devnets: {
    evm: { rpcUrl: string; token: { address: string }; accounts: Record<string, { privateKey: string }> };
    solana: { rpcUrl: string };
  };
};

type PayJson = {
  status: number;
  paid: boolean;
  rail?: string;
  amount?: string;
  receiptVerified: boolean;
  receipt?: { rail: string; amount: string; network: string; reference: string; request: { url: string } };
  signedReceipt?: { signature: string };
  body: string;
};

/** The wallet settings of one rail only (by variable prefix), so the payer holds that rail's wallet alone. */
const only = (env: Record<string, string>, prefix: string) => Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith(prefix)));

describe('x402-rails demo --serve, paid with x402-rails pay', () => {
  let demo: RunningCli<DemoServeJson>;
  let stopped = false;

  beforeAll(async () => {
    demo = await startCli<DemoServeJson>(['demo', '--serve', '--json']);
  });
  afterAll(async () => {
    if (!stopped) await demo?.stop('SIGKILL');
  });

  it('prints the paid URL, the price on every rail and the payer wallets; the URL answers 402', async () => {
    const { reportUrl, prices, walletEnv, curl } = demo.ready;
    expect(prices.map((p) => [p.rail, p.amount])).toEqual([
      ['evm-eip3009', '10000'],
      ['evm-eip2612', '10000'],
      ['solana-spl', '10000'],
      ['lightning-l402', '21000'],
    ]);
    expect(Object.keys(walletEnv).sort()).toEqual(['X402_EVM_PRIVATE_KEY', 'X402_EVM_RPC_URL', 'X402_LND_CERT', 'X402_LND_MACAROON', 'X402_LND_SOCKET', 'X402_SOLANA_RPC_URL', 'X402_SOLANA_SECRET_KEY']);
    expect(curl).toBe(`curl -i ${reportUrl}`);
    const unpaid = await fetch(reportUrl);
    expect(unpaid.status).toBe(402);
    expect(unpaid.headers.get('payment-required')).toBeTruthy();
    expect(unpaid.headers.get('www-authenticate')).toMatch(/^L402 /);
  });

  it('pays on every rail (--prefer a rail id over the server order, or a namespace; --max per asset or overall) and prints a verified receipt', async () => {
    const { reportUrl, walletEnv } = demo.ready;
    const cases = [
      { expectRail: 'evm-eip3009', amount: '10000', env: only(walletEnv, 'X402_EVM_'), args: ['--prefer', 'evm-eip3009'] },
      { expectRail: 'evm-eip2612', amount: '10000', env: only(walletEnv, 'X402_EVM_'), args: ['--prefer', 'evm-eip2612', '--max', '10000'] },
      { expectRail: 'solana-spl', amount: '10000', env: only(walletEnv, 'X402_SOLANA_'), args: ['--prefer', 'solana'] },
      { expectRail: 'lightning-l402', amount: '21000', env: only(walletEnv, 'X402_LND_'), args: ['--prefer', 'bip122', '--max', 'msat=21000'] },
    ];
    const runs = await Promise.all(cases.map((c) => runCli(['pay', reportUrl, ...c.args, '--json'], { env: c.env })));
    runs.forEach((run, i) => {
      const c = cases[i]!;
      expect(run.code, `${c.expectRail}: ${run.stderr}`).toBe(0);
      const out = jsonOf<PayJson>(run);
      expect(out).toMatchObject({ status: 200, paid: true, rail: c.expectRail, amount: c.amount, receiptVerified: true });
      expect(JSON.parse(out.body)).toEqual({ report: 'Paid content: the weather on every rail is fine.' });
      expect(out.receipt).toMatchObject({ rail: c.expectRail, amount: c.amount, request: { url: reportUrl } });
      expect(out.receipt?.reference).not.toBe('');
      expect(out.signedReceipt?.signature).toMatch(/^[\w-]+\.\.[\w-]+$/);
      expect(run.stderr).toContain('waiting for settlement');
    });
    // Four payments, four distinct settlements.
    expect(new Set(runs.map((r) => jsonOf<PayJson>(r).receipt?.reference)).size).toBe(4);

    // The receipt `pay` printed verifies offline against the server's published JWKS (fetched by URL).
    const verify = await runCli(['receipt', 'verify', '-', '--jwks', demo.ready.url, '--url', reportUrl, '--json'], { input: runs[0]!.stdout });
    expect(verify.code, verify.stderr).toBe(0);
    expect(jsonOf<{ valid: boolean }>(verify).valid).toBe(true);
  });

  it('the lines the text output prints (export …, npx x402-rails pay …) run as printed from the repository root', async () => {
    const printed = formatServe(demo.ready as unknown as DemoServeDescription).split('\n').map((line) => line.trim());
    const exports = printed.filter((line) => line.startsWith('export X402_'));
    const payLine = printed.find((line) => line.startsWith('npx x402-rails pay '));
    expect(exports).toHaveLength(3);
    expect(payLine).toBe(`npx x402-rails pay ${demo.ready.reportUrl}`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('X402_')));
    const script = [...exports, `${payLine} --json`].join('\n');
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    const { stdout } = await promisify(execFile)('sh', ['-c', script], { cwd, env, timeout: 60_000 });
    expect(JSON.parse(stdout)).toMatchObject({ status: 200, paid: true, rail: 'evm-eip3009', receiptVerified: true });
  });

  it('refuses to pay over --max: exit 1, nothing paid, the reason per offer', async () => {
    const run = await runCli(['pay', demo.ready.reportUrl, '--max', '20000', '--json'], { env: only(demo.ready.walletEnv, 'X402_LND_') });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Nothing was paid');
    expect(run.stderr).toMatch(/21000 msat: over_request_cap/);
    expect(run.stderr).toContain('To pay more, raise the cap: --max');
    expect(jsonOf<{ ok: boolean; error: { code: string } }>(run)).toMatchObject({ ok: false, error: { code: 'CLI__COMMAND__FAILED' } });
  });

  it('facilitator serves /supported for the demo chain and stops on SIGTERM', async () => {
    const { evm } = demo.ready.devnets;
    const env = { X402_EVM_RPC_URL: evm.rpcUrl, X402_EVM_PRIVATE_KEY: evm.accounts['facilitator']!.privateKey, X402_EVM_TOKEN_ADDRESS: evm.token.address };
    const facilitator = await startCli<{ url: string; rails: string[]; auth: boolean }>(['facilitator', '--port', '0', '--json'], { env });
    try {
      // EIP-2612 is opt-in (X402_EVM_EIP2612_PAYEE): a permit binds the facilitator's spender, not a payee.
      expect(facilitator.ready).toMatchObject({ rails: ['evm-eip3009'], auth: false });
      const supported = (await (await fetch(`${facilitator.ready.url}/supported`)).json()) as { kinds: Array<{ scheme: string; network: string }> };
      expect(supported.kinds.map((k) => k.network)).toEqual(['eip155:31337']);
    } finally {
      expect(await facilitator.stop('SIGTERM')).toMatchObject({ code: 0 });
    }
  });

  it('stops the server and every devnet on Ctrl-C (SIGINT) with exit 0', async () => {
    const anvilPort = new URL(demo.ready.devnets.evm.rpcUrl).port;
    const exit = await demo.stop('SIGINT');
    stopped = true;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.stderr).toContain('Stopped.');
    expect(await answers(demo.ready.reportUrl)).toBe(false);
    expect(processesMatching(['anvil', '--port', anvilPort])).toEqual([]);
  });
});
