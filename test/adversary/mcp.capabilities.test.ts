/**
 * Attacks on capabilities and metering sessions of MCP tools, on the shared devnets (anvil, EIP-3009) with the real
 * SDK client and server in memory: a capability bought for one tool presented on another, a spent capability presented
 * again (one after the other and eight at once), a capability signed by another key, and a metering session presented
 * on another tool. Each is refused with the tool's payment request and the reason; the tool does not run and the
 * payee's balance does not move.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { capabilities, jwsCapabilityToken } from '../../src/capabilities/index';
import { metering } from '../../src/metering/index';
import { createReceiptSigner } from '../../src/index';
import {
  mcpMetaKeys,
  paymentRequiredOf,
  payingMcpClient,
  toolCredentialsOf,
  type McpPaywall,
} from '../../src/mcp/index';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import {
  ISSUER,
  PRICE,
  connectInMemory,
  freshPayee,
  jwksFetchOf,
  offers,
  paidMcpServer,
  toolPaywall,
  type Runs,
} from '../mcp/support';

let net: SharedDevnets;
let pw: McpPaywall;
let client: Client;
const runs: Runs = {};
const payee = freshPayee();

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  const signer = await createReceiptSigner();
  const token = await jwsCapabilityToken();
  const caps = capabilities({
    token,
    issuer: ISSUER,
    grants: { 'POST /forecast': { calls: 2, ttlSeconds: 600 }, 'POST /echo': { calls: 2, ttlSeconds: 600 } },
  });
  const meter = metering({ token, signer, routes: { 'POST /summarize': { maxUnitsPerCall: 100n, ttlSeconds: 600 } } });
  pw = await toolPaywall(
    net,
    { forecast: { accepts: [offers.evm] }, echo: { accepts: [offers.evm] }, summarize: { accepts: [offers.evm] } },
    payee,
    { signer, extensions: [caps, meter] },
  );
  client = await connectInMemory(paidMcpServer(pw, runs));
});
afterAll(async () => {
  await client?.close();
});

const paying = () =>
  payingMcpClient(client, {
    adapters: [evmEip3009Client()],
    wallets: [evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient })],
    origin: ISSUER,
    fetch: jwksFetchOf(pw),
    capabilities: false,
  });

/** Pays one call of `name` and answers the capability it bought. */
async function buyCapability(name: 'forecast' | 'echo', args: Record<string, unknown>): Promise<string> {
  const bought = await paying().callTool({ name, arguments: args });
  const token = toolCredentialsOf(bought).capability?.token;
  if (!token) throw new Error('no capability bought');
  return token;
}

const present = async (name: string, args: Record<string, unknown>, meta: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args, _meta: meta })) as CallToolResult;

/** The result is the tool's payment request, refused for `reason`. */
function expectRefused(result: CallToolResult, reason: string, where: 'capability'): void {
  expect(result.isError).toBe(true);
  expect(paymentRequiredOf(result)?.error).toBe(reason);
  expect(paymentRequiredOf(result)?.accepts[0]?.amount).toBe(PRICE.toString());
  expect(toolCredentialsOf(result)[where]?.error).toBe(reason);
}

describe('MCP capabilities and metering sessions under attack', () => {
  it('a capability bought for one tool is refused on another (capability_wrong_scope): echo does not run, payee unchanged', async () => {
    const token = await buyCapability('forecast', { city: 'Paris' });
    const before = await net.evm.balanceOf(payee);
    const ran = runs.echo ?? 0;
    expectRefused(
      await present('echo', { text: 'free ride' }, { [mcpMetaKeys.capability]: token }),
      'capability_wrong_scope',
      'capability',
    );
    expect(runs.echo ?? 0).toBe(ran);
    // Still good on its own tool.
    const own = await present('forecast', { city: 'Oslo' }, { [mcpMetaKeys.capability]: token });
    expect(own.isError).toBeUndefined();
    expect(toolCredentialsOf(own).capability?.remaining).toBe(1);
    expect(await net.evm.balanceOf(payee)).toBe(before);
  });

  it('a spent capability is refused (capability_exhausted), and eight concurrent calls on a 2-call capability serve exactly 2', async () => {
    const spent = await buyCapability('echo', { text: 'a' });
    for (const text of ['b', 'c'])
      expect((await present('echo', { text }, { [mcpMetaKeys.capability]: spent })).isError).toBeUndefined();
    const before = await net.evm.balanceOf(payee);
    const ran = runs.echo ?? 0;
    expectRefused(
      await present('echo', { text: 'd' }, { [mcpMetaKeys.capability]: spent }),
      'capability_exhausted',
      'capability',
    );
    expect(runs.echo).toBe(ran);

    const fresh = await buyCapability('echo', { text: 'e' });
    const afterBuy = await net.evm.balanceOf(payee);
    expect(afterBuy).toBe(before + PRICE);
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, i) => present('echo', { text: `burst ${i}` }, { [mcpMetaKeys.capability]: fresh })),
    );
    const served = burst.filter((r) => r.isError === undefined);
    expect(served).toHaveLength(2);
    for (const refused of burst.filter((r) => r.isError === true))
      expect(toolCredentialsOf(refused).capability?.error).toBe('capability_exhausted');
    expect(runs.echo).toBe(ran + 1 + 2);
    expect(await net.evm.balanceOf(payee)).toBe(afterBuy);
  });

  it('a capability for this tool signed by another key is refused; nothing runs', async () => {
    const other = await jwsCapabilityToken();
    const now = Math.floor(Date.now() / 1000);
    const forged = await other.issue({
      v: 1,
      jti: 'cap_forged_forged_forged',
      iss: ISSUER,
      sub: net.evm.account('payer').address,
      scope: { routes: ['POST /forecast'], methods: ['POST'] },
      calls: 1000,
      iat: now,
      exp: now + 600,
      receipt: 'rcpt_forged',
      rail: 'evm-eip3009',
    });
    const ran = runs.forecast ?? 0;
    const result = await present('forecast', { city: 'Rome' }, { [mcpMetaKeys.capability]: forged });
    expect(result.isError).toBe(true);
    expect(paymentRequiredOf(result)?.error).toMatch(/^capability_/);
    expect(runs.forecast ?? 0).toBe(ran);
  });

  it('a metering session buys nothing on another tool (its payment request is answered) and is refused once its balance is spent (metering_exhausted)', async () => {
    // Deposit 9,000; each call reserves 100 units × 1 and is charged its words.
    const deposit = await paying().callTool({ name: 'summarize', arguments: { text: 'one two' } });
    const session = toolCredentialsOf(deposit).metering?.session;
    expect(session).toBeDefined();
    const before = await net.evm.balanceOf(payee);
    const ran = runs.forecast ?? 0;
    // A session presented on a tool it does not meter is no credential there: the tool's plain payment request.
    const elsewhere = await present('forecast', { city: 'Lima' }, { [mcpMetaKeys.metering]: { session } });
    expect(elsewhere.isError).toBe(true);
    expect(paymentRequiredOf(elsewhere)?.accepts[0]?.amount).toBe(PRICE.toString());
    expect(runs.forecast ?? 0).toBe(ran);

    // The deposit's call used 2; each call of 100 words is charged 100: after 89 of them 98 remain, less than a reservation.
    const long = Array.from({ length: 100 }, () => 'w').join(' ');
    let served = 0;
    let last: CallToolResult | undefined;
    for (let i = 0; i < 95; i++) {
      last = await present('summarize', { text: long }, { [mcpMetaKeys.metering]: { session } });
      if (last.isError === true) break;
      served++;
    }
    expect(served).toBe(89);
    expect(last && toolCredentialsOf(last).metering?.error).toBe('metering_exhausted');
    expect(await net.evm.balanceOf(payee)).toBe(before);
  });
});
