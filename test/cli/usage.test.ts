import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonOf, runCli } from './runCli';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe.concurrent('x402-rails command line: help and bad arguments', () => {
  it('--help lists every command and exits 0; --version prints the package version', async () => {
    const [help, ver] = await Promise.all([runCli(['--help']), runCli(['--version'])]);
    expect(help.code).toBe(0);
    for (const command of ['devnet up', 'pay', 'receipt verify', 'facilitator', 'dashboard', 'demo'])
      expect(help.stdout).toContain(`  ${command} `);
    expect(ver).toMatchObject({ code: 0, stdout: `x402-rails ${version}\n` });
  });

  it('a command --help prints its options and exits 0', async () => {
    const run = await runCli(['pay', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: x402-rails pay <url>/);
    expect(run.stdout).toContain('--prefer');
    expect(run.stdout).toContain('--max');
  });

  it.each([
    [[], /Missing a command\./],
    [['frobnicate'], /Unknown command "frobnicate"\./],
    [['devnet'], /"devnet" needs a sub-command: devnet up\./],
    [['pay'], /x402-rails pay: Missing <url>\./],
    [['pay', 'not a url'], /"not a url" is not a URL/],
    [['pay', 'http://127.0.0.1:9/x', '--max', '1.5'], /--max "1\.5" is not an amount: give atomic units/],
    [['pay', 'http://127.0.0.1:9/x', '-H', 'no colon'], /is not a header/],
    [['pay', 'http://127.0.0.1:9/x', 'extra'], /Unexpected argument "extra"/],
    [['receipt', 'verify', 'r.json'], /Missing --jwks <url\|file>/],
    [['devnet', 'up', '--bogus'], /Unknown option '--bogus'/],
    [['facilitator', '--port', '99999'], /--port "99999" is not a port number/],
    [['demo', '--port', '8080'], /--port needs --serve/],
  ])('%j → exit 2 with a clear message on stderr', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('with --json a usage error is also one JSON document on stdout', async () => {
    const run = await runCli(['pay', '--bogus', '--json']);
    expect(run.code).toBe(2);
    expect(jsonOf(run)).toEqual({
      ok: false,
      exitCode: 2,
      error: { code: 'CLI__USAGE__INVALID', message: "Unknown option '--bogus'." },
    });
  });

  it('a wallet setting without its pair fails with exit 1, naming the settings but never echoing the key', async () => {
    const key = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
    const run = await runCli(['pay', 'http://127.0.0.1:9/x'], { env: { X402_EVM_PRIVATE_KEY: key } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('X402_EVM_PRIVATE_KEY is set but X402_EVM_RPC_URL is not');
    expect(run.stderr + run.stdout).not.toContain(key.slice(2, 20));
  });

  it('a malformed key fails with exit 1 without echoing it', async () => {
    const run = await runCli(['pay', 'http://127.0.0.1:9/x'], {
      env: { X402_EVM_PRIVATE_KEY: '0xdeadbeefcafe', X402_EVM_RPC_URL: 'http://127.0.0.1:9' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('X402_EVM_PRIVATE_KEY is not a private key');
    expect(run.stderr).not.toContain('deadbeefcafe');
  });

  it('an unreadable --config file fails with exit 1', async () => {
    const run = await runCli(['pay', 'http://127.0.0.1:9/x', '--config', '/nonexistent/x402.json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Cannot read the config file /nonexistent/x402.json: ENOENT');
  });
});
