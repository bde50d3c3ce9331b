import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, erc20Abi, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { describeToolReceipt, payDemoTool } from '../../fixtures/demo/demoMcp';
import { formatServe, type DemoServeDescription } from '../../src/cli/commands/demo';
import { answers, processesMatching } from './processes';
import { jsonOf, runCli, startCli, type RunningCli } from './runCli';

type DemoServeJson = {
  url: string;
  reportUrl: string;
  jwksUrl: string;
  prices: Array<{ rail: string; amount: string; unit: string; display: string }>;
  curl: string;
  walletEnv: Record<string, string>;
  devnets: {
    evm: { rpcUrl: string; token: { address: string }; accounts: Record<string, { privateKey: string }> };
    solana: { rpcUrl: string };
    lightning: { nodes: Record<string, { socket: string; cert: string; macaroon: string }> };
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
const only = (env: Record<string, string>, prefix: string) =>
  Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith(prefix)));

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
    expect(prices.map((p) => p.display)).toEqual(['0.01 rUSD', '0.01 rUSD', '0.01 SPL', '21 sat']);
    expect(Object.keys(walletEnv).sort()).toEqual([
      'X402_EVM_PRIVATE_KEY',
      'X402_EVM_RPC_URL',
      'X402_LND_CERT',
      'X402_LND_MACAROON',
      'X402_LND_SOCKET',
      'X402_SOLANA_RPC_URL',
      'X402_SOLANA_SECRET_KEY',
    ]);
    expect(curl).toBe(`curl -i ${reportUrl}`);
    const unpaid = await fetch(reportUrl);
    expect(unpaid.status).toBe(402);
    expect(unpaid.headers.get('payment-required')).toBeTruthy();
    expect(unpaid.headers.get('www-authenticate')).toMatch(/^L402 /);
    expect(unpaid.headers.get('content-type')).toBe('application/json');
    // A browser opening the same URL gets the paywall page, every rail payable from it.
    const page = await fetch(reportUrl, { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.status).toBe(402);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    for (const label of [
      'Pay 0.01 rUSD with an Ethereum wallet',
      'Pay 0.01 SPL with a Solana wallet',
      'Pay 21 sat with Lightning',
    ])
      expect(html).toContain(label);
  });

  it('pays on every rail (--prefer a rail id over the server order, or a namespace; --max per asset or overall) and prints a verified receipt', async () => {
    const { reportUrl, walletEnv } = demo.ready;
    const cases = [
      {
        expectRail: 'evm-eip3009',
        amount: '10000',
        env: only(walletEnv, 'X402_EVM_'),
        args: ['--prefer', 'evm-eip3009'],
      },
      {
        expectRail: 'evm-eip2612',
        amount: '10000',
        env: only(walletEnv, 'X402_EVM_'),
        args: ['--prefer', 'evm-eip2612', '--max', '10000'],
      },
      { expectRail: 'solana-spl', amount: '10000', env: only(walletEnv, 'X402_SOLANA_'), args: ['--prefer', 'solana'] },
      {
        expectRail: 'lightning-l402',
        amount: '21000',
        env: only(walletEnv, 'X402_LND_'),
        args: ['--prefer', 'bip122', '--max', 'msat=21000'],
      },
    ];
    const runs = await Promise.all(cases.map((c) => runCli(['pay', reportUrl, ...c.args, '--json'], { env: c.env })));
    runs.forEach((run, i) => {
      const c = cases[i]!;
      expect(run.code, `${c.expectRail}: ${run.stderr}`).toBe(0);
      const out = jsonOf<PayJson>(run);
      expect(out).toMatchObject({
        status: 200,
        paid: true,
        rail: c.expectRail,
        amount: c.amount,
        receiptVerified: true,
      });
      expect(JSON.parse(out.body)).toEqual({ report: 'Paid content: the weather on every rail is fine.' });
      expect(out.receipt).toMatchObject({ rail: c.expectRail, amount: c.amount, request: { url: reportUrl } });
      expect(out.receipt?.reference).not.toBe('');
      expect(out.signedReceipt?.signature).toMatch(/^[\w-]+\.\.[\w-]+$/);
      expect(run.stderr).toContain('waiting for settlement');
    });
    // Four payments, four distinct settlements.
    expect(new Set(runs.map((r) => jsonOf<PayJson>(r).receipt?.reference)).size).toBe(4);

    // The receipt `pay` printed verifies offline against the server's published JWKS (fetched by URL).
    const verify = await runCli(['receipt', 'verify', '-', '--jwks', demo.ready.url, '--url', reportUrl, '--json'], {
      input: runs[0]!.stdout,
    });
    expect(verify.code, verify.stderr).toBe(0);
    expect(jsonOf<{ valid: boolean }>(verify).valid).toBe(true);
  });

  it('the lines the text output prints (export …, npx x402-rails pay …) run as printed from the repository root', async () => {
    const printed = formatServe(demo.ready as unknown as DemoServeDescription)
      .split('\n')
      .map((line) => line.trim());
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
    const run = await runCli(['pay', demo.ready.reportUrl, '--max', '20000', '--json'], {
      env: only(demo.ready.walletEnv, 'X402_LND_'),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Nothing was paid');
    expect(run.stderr).toMatch(/21000 msat: over_request_cap/);
    expect(run.stderr).toContain('To pay more, raise the cap: --max');
    expect(jsonOf<{ ok: boolean; error: { code: string } }>(run)).toMatchObject({
      ok: false,
      error: { code: 'CLI__COMMAND__FAILED' },
    });
  });

  it('tells the EIP-3009 and the EIP-2612 offers apart when refusing them', async () => {
    const run = await runCli(['pay', demo.ready.reportUrl, '--max', '1'], {
      env: only(demo.ready.walletEnv, 'X402_EVM_'),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/#0 exact eip155:31337 10000 0x[0-9a-fA-F]{40}: over_request_cap/);
    expect(run.stderr).toMatch(/#1 exact\/eip2612 eip155:31337 10000 0x[0-9a-fA-F]{40}: over_request_cap/);
  });

  it('a wrong LND certificate is told apart from an unreachable node; nothing is paid either way', async () => {
    const lnd = only(demo.ready.walletEnv, 'X402_LND_');
    const [wrongCert, down] = await Promise.all([
      runCli(['pay', demo.ready.reportUrl], {
        env: { ...lnd, X402_LND_CERT: demo.ready.devnets.lightning.nodes['bob']!.cert },
      }),
      runCli(['pay', demo.ready.reportUrl], { env: { ...lnd, X402_LND_SOCKET: '127.0.0.1:1' } }),
    ]);
    expect(wrongCert.code).toBe(1);
    expect(wrongCert.stderr).toContain(
      "The payer's Lightning node rejected the TLS connection: its certificate is not the configured one",
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(
      "The payer's Lightning node could not be reached (connect ECONNREFUSED 127.0.0.1:1); nothing was paid.",
    );
  });

  it('facilitator serves /supported for the demo chain and stops on SIGTERM', async () => {
    const { evm } = demo.ready.devnets;
    // The demo's exported payer lines set X402_EVM_PRIVATE_KEY; the facilitator's gas account is its own variable.
    const env = {
      ...demo.ready.walletEnv,
      X402_FACILITATOR_EVM_PRIVATE_KEY: evm.accounts['facilitator']!.privateKey,
      X402_EVM_TOKEN_ADDRESS: evm.token.address,
    };
    const facilitator = await startCli<{ url: string; rails: string[]; auth: boolean }>(
      ['facilitator', '--port', '0', '--json'],
      { env },
    );
    try {
      expect(facilitator.stderr()).not.toContain('Deprecated');
      // EIP-2612 is opt-in (X402_EVM_EIP2612_PAYEE): a permit binds the facilitator's spender, not a payee.
      // Permit2 and upto bind the payee in the signed witness: offered by default.
      expect(facilitator.ready).toMatchObject({ rails: ['evm-eip3009', 'evm-permit2', 'evm-upto'], auth: false });
      const supported = (await (await fetch(`${facilitator.ready.url}/supported`)).json()) as {
        kinds: Array<{ scheme: string; network: string }>;
        extensions: string[];
      };
      expect(new Set(supported.kinds.map((k) => k.network))).toEqual(new Set(['eip155:31337']));
      expect(supported.kinds.map((k) => k.scheme)).toEqual(['exact', 'exact', 'upto']);
      expect(supported.extensions).toEqual(['eip2612GasSponsoring']);
    } finally {
      expect(await facilitator.stop('SIGTERM')).toMatchObject({ code: 0 });
    }
  });

  it('facilitator still takes its gas account from X402_EVM_PRIVATE_KEY alone, with a deprecation note', async () => {
    const { evm } = demo.ready.devnets;
    const env = {
      X402_EVM_RPC_URL: evm.rpcUrl,
      X402_EVM_PRIVATE_KEY: evm.accounts['facilitator']!.privateKey,
      X402_EVM_TOKEN_ADDRESS: evm.token.address,
    };
    const facilitator = await startCli<{ rails: string[] }>(['facilitator', '--port', '0', '--json'], { env });
    const exit = await facilitator.stop('SIGTERM');
    expect(facilitator.ready.rails).toEqual(['evm-eip3009', 'evm-permit2', 'evm-upto']);
    expect(exit.stderr).toContain(
      "Deprecated: X402_EVM_PRIVATE_KEY as the facilitator's gas account; set X402_FACILITATOR_EVM_PRIVATE_KEY",
    );
  });

  it("an agent pays the demo's MCP tool (tools/call over Streamable HTTP) on EVM: tool answers, receipt verified and bound to the tool, payer −0.01 rUSD, and the demo's receipt line names it", async () => {
    const { url, walletEnv, devnets } = demo.ready;
    const publicClient = createPublicClient({ transport: http(devnets.evm.rpcUrl) });
    const payer = privateKeyToAccount(walletEnv['X402_EVM_PRIVATE_KEY'] as Hex);
    const balance = () =>
      publicClient.readContract({
        address: devnets.evm.token.address as Address,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [payer.address],
      });
    const before = await balance();
    const called = await payDemoTool(url, [evmEip3009Client()], [evmWallet(payer, { publicClient })]);
    expect(called.text).toBe('Sunny in Paris');
    expect(called.receiptCheck).toBe('signature');
    expect(called.receipt).toMatchObject({
      rail: 'evm-eip3009',
      amount: '10000',
      issuer: url,
      status: 'settled',
      request: { method: 'POST', url: 'mcp://tool/forecast' },
    });
    expect(await balance()).toBe(before - 10_000n);
    const line = describeToolReceipt(called.receipt!);
    expect(line).toContain(
      `: POST mcp://tool/forecast (arguments sha-256 ${called.receipt?.request.bodyHash}), evm-eip3009 0x`,
    );
    expect(line).toContain(`signed by ${url}`);
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
