import { describe, expect, it } from 'vitest';
import { runCli } from './runCli';

/**
 * `x402-rails demo` (what `npm run demo` runs) end to end: every client pays once and every receipt verifies. Issue
 * 14: it pays once with `exact` via Permit2 (a payer that approved Permit2 once), `exact` via Permit2 with gas
 * sponsoring (payer2, who never approved Permit2 and whose client may not send an approval: it pays only through the
 * signed EIP-2612 permit the server submits) and `upto` (authorized 0.01 rUSD, charged the 0.004 the route reported).
 */
describe('x402-rails demo', () => {
  it('pays once on every rail, the Permit2 family included, each receipt verified', async () => {
    const run = await runCli(['demo']);
    expect(run.code, run.stderr).toBe(0);
    const row = (client: string) => run.stdout.split('\n').find((line) => line.includes(`'${client}'`)) ?? '';
    const cells = (client: string) =>
      row(client)
        .split('│')
        .map((cell) => cell.trim().replace(/^'|'$/g, ''));
    const permit2 = cells('EVM exact + Permit2 (approved once)');
    expect(permit2).toEqual(expect.arrayContaining(['evm-permit2', '0.01 rUSD', 'verified']));
    const sponsored = cells('EVM exact + Permit2, gas-sponsored');
    expect(sponsored).toEqual(expect.arrayContaining(['evm-permit2', '0.01 rUSD', 'verified']));
    // payer2 (0x3C44…93BC on anvil): a different payer from the approved one.
    expect(row('EVM exact + Permit2, gas-sponsored')).toContain('0x3C44C');
    const upto = cells('EVM upto (max 0.01, charged 0.004)');
    expect(upto).toEqual(expect.arrayContaining(['evm-upto', '0.004 rUSD', 'verified']));
    // Issue 15: an agent pays the demo's MCP tool (tools/call over Streamable HTTP) and the receipt is printed.
    expect(cells('MCP agent: tools/call forecast')).toEqual(
      expect.arrayContaining(['evm-eip3009', 'x402 over MCP', '0.01 rUSD', 'verified']),
    );
    expect(run.stdout).toMatch(
      /MCP tool call receipt \S+: POST mcp:\/\/tool\/forecast \(arguments sha-256 [\w-]{43}\), evm-eip3009 0x[0-9a-f]{64}, signed by http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(run.stdout).toContain('Every payment settled and every receipt verified');
  }, 120_000); // three devnets start in a child process: ~15 s on an idle 2-core machine
});
