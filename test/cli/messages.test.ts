/**
 * Failure messages of the CLI that must say what went wrong and where, without devnets: an unreachable server
 * or JWKS names its host, port and reason; a JSON object that is no receipt names the fields it lacks.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { formatUnits } from '../../src/cli/output';
import { runCli } from './runCli';

const dir = mkdtempSync(join(tmpdir(), 'x402-rails-messages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const jwksFile = join(dir, 'jwks.json');
writeFileSync(
  jwksFile,
  JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] }),
);

/** A port that was free a moment ago and that nothing listens on now. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe.concurrent('x402-rails messages', () => {
  it('pay to a port nothing listens on names the host, the port and the reason', async () => {
    const port = await closedPort();
    const run = await runCli(['pay', `http://127.0.0.1:${port}/report`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `The server at http://127.0.0.1:${port}/report did not answer: 127.0.0.1:${port} could not be reached: connection refused: nothing is listening on that port (ECONNREFUSED).`,
    );
  });

  it('pay to a port fetch refuses (port 1) says so instead of "fetch failed"', async () => {
    const run = await runCli(['pay', 'http://127.0.0.1:1/report']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      '127.0.0.1:1 could not be reached: fetch refuses port 1 (a blocked port of the Fetch standard)',
    );
  });

  it('pay to a host name that does not resolve says so', async () => {
    const run = await runCli(['pay', 'http://no-such-host.invalid/report']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /no-such-host\.invalid:80 could not be reached: the host name (does not resolve|could not be resolved right now) \(DNS\)/,
    );
  });

  it('an unreachable --jwks names its URL, host, port and reason', async () => {
    const port = await closedPort();
    const run = await runCli(['receipt', 'verify', '-', '--jwks', `http://127.0.0.1:${port}`], { input: '{"a":1}' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `The JWKS at http://127.0.0.1:${port}/.well-known/x402-rails/jwks.json did not answer: 127.0.0.1:${port} could not be reached: connection refused`,
    );
  });

  it('receipt verify on {"a":1} names the missing fields', async () => {
    const run = await runCli(['receipt', 'verify', '-', '--jwks', jwksFile], { input: '{"a":1}' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/The receipt is malformed: missing v, id, issuer, rail, .*signature\./);
    expect(run.stderr).not.toContain('invalid');
  });

  it('a receipt with a wrong-typed field is told apart from missing ones', async () => {
    const run = await runCli(['receipt', 'verify', '-', '--jwks', jwksFile], { input: '{"v":2,"id":"r1"}' });
    expect(run.stderr).toMatch(/The receipt is malformed: missing issuer, .*; invalid v\./);
  });

  it('amounts for people: whole units from atomic ones, never through a float', () => {
    expect(formatUnits(10_000n, 6)).toBe('0.01');
    expect(formatUnits(21_000n, 3)).toBe('21');
    expect(formatUnits(1n, 18)).toBe('0.000000000000000001');
    expect(formatUnits(123_456_789n, 2)).toBe('1234567.89');
    expect(formatUnits(0n, 6)).toBe('0');
  });
});
