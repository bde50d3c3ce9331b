/**
 * Issue 16, item 4: MPP (`Payment`, evm/charge) over MCP, with the real `@modelcontextprotocol/sdk` client and server
 * on anvil and the real mppx 0.11 MCP client (`mppx/mcp-sdk/client`, `McpClient.wrap`). An unpaid call of a paid tool
 * answers the x402 payment-required result carrying the Payment challenges in
 * `_meta["org.paymentauth/payment-required"]`; mppx pays one (EIP-3009 authorization bound to the challenge) and
 * presents it in `_meta["org.paymentauth/credential"]`; the call goes through the same paywall flow as HTTP (`POST
 * mcp://tool/<name>`) and the result carries `_meta["org.paymentauth/receipt"]` (with challengeId and our signed
 * receipt). Attacks: the credential replayed (same call: the same receipt, no second charge), replayed with other
 * arguments, presented to another tool, and malformed — each refused, balances checked on chain.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Credential } from 'mppx';
import { evm } from 'mppx/client';
import { McpClient } from 'mppx/mcp-sdk/client';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { evmEip3009Server } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { createReceiptSigner, MPP_SIGNED_RECEIPT_KEY, verifyReceipt } from '../../src/index';
import { mcpPaywall, mppMcpMetaKeys, type McpPaywall } from '../../src/mcp/index';

const PRICE = 7_000n;
let devnet: EvmDevnet;
let pw: McpPaywall;
const runs: Record<string, number> = {};

// #region mpp-over-mcp
/** Our tool server: `forecast` and `echo` priced on the EIP-3009 rail, which speaks x402 and MPP evm/charge. */
function toolServer(tools: McpPaywall): McpServer {
  const server = new McpServer({ name: 'paid-tools', version: '1.0.0' });
  server.registerTool(
    'forecast',
    { description: 'Weather forecast', inputSchema: { city: z.string() } },
    tools.tool('forecast', async ({ city }) => {
      runs.forecast = (runs.forecast ?? 0) + 1;
      return { content: [{ type: 'text', text: `Sunny in ${city}` }] };
    }),
  );
  server.registerTool(
    'echo',
    { description: 'Echo', inputSchema: { text: z.string() } },
    tools.tool('echo', async ({ text }) => {
      runs.echo = (runs.echo ?? 0) + 1;
      return { content: [{ type: 'text', text }] };
    }),
  );
  return server;
}
// #endregion mpp-over-mcp

async function connect(): Promise<Client> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await toolServer(pw).connect(serverTransport);
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(clientTransport);
  return client;
}

const account = () => privateKeyToAccount(devnet.accounts.payer.privateKey as Hex);
const charge = () =>
  evm.charge({ account: account(), authorization: { name: devnet.token.name, version: devnet.token.version } });
const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});
const call = async (client: Client, name: string, args: Record<string, unknown>, meta?: Record<string, unknown>) =>
  CallToolResultSchema.parse(
    await client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) }, CallToolResultSchema),
  );
const textOf = (r: CallToolResult) => (r.content[0]?.type === 'text' ? r.content[0].text : '');

/** A credential mppx makes for the first Payment challenge of an unpaid call, as the MCP object it sends. */
async function credentialFor(client: Client, name: string, args: Record<string, unknown>): Promise<unknown> {
  const unpaid = await call(client, name, args);
  const required = unpaid._meta?.[mppMcpMetaKeys.paymentRequired] as { challenges: unknown[] } | undefined;
  const [challenge] = required?.challenges ?? [];
  if (!challenge) throw new Error('no Payment challenge in the unpaid result');
  const method = charge();
  const header = await method.createCredential({ challenge } as Parameters<typeof method.createCredential>[0]);
  return Credential.deserialize(header);
}

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const rail = evmEip3009Server({
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  });
  pw = mcpPaywall(
    {
      forecast: { accepts: [{ rail: rail.id, amount: PRICE }], description: 'forecast' },
      echo: { accepts: [{ rail: rail.id, amount: PRICE }], description: 'echo' },
    },
    { rails: [rail], signer: await createReceiptSigner(), issuer: 'https://tools.test' },
  );
}, 60_000);
afterAll(async () => {
  await devnet?.stop();
});

describe('MPP over MCP (evm/charge, anvil)', () => {
  it('an unpaid call answers x402 and the Payment challenges in _meta["org.paymentauth/payment-required"]', async () => {
    const client = await connect();
    const before = runs.forecast ?? 0;
    const unpaid = await call(client, 'forecast', { city: 'Paris' });
    expect(unpaid.isError).toBe(true);
    expect(unpaid.structuredContent).toMatchObject({ x402Version: 2 });
    expect(unpaid._meta?.[mppMcpMetaKeys.paymentRequired]).toMatchObject({
      httpStatus: 402,
      challenges: [{ method: 'evm', intent: 'charge', realm: 'tools.test', request: { amount: PRICE.toString() } }],
    });
    expect(runs.forecast ?? 0).toBe(before);
  });

  it("mppx's MCP client pays our tool once: served, receipt in _meta with challengeId and our signed receipt, +PRICE", async () => {
    const client = McpClient.wrap(await connect(), { methods: [charge()] });
    const before = await balances();
    const runsBefore = runs.forecast ?? 0;
    const result = await client.callTool({ name: 'forecast', arguments: { city: 'Paris' } });
    expect(textOf(CallToolResultSchema.parse(result))).toBe('Sunny in Paris');
    const receipt = result.receipt as Record<string, unknown> | undefined;
    expect(receipt).toMatchObject({ method: 'evm', status: 'success' });
    expect(typeof receipt?.challengeId).toBe('string');
    const signed = await verifyReceipt(receipt?.[MPP_SIGNED_RECEIPT_KEY], pw.paywall.jwks());
    expect(signed).toMatchObject({
      protocol: 'mpp',
      challenge: receipt?.challengeId,
      reference: receipt?.reference,
      amount: PRICE.toString(),
      request: { method: 'POST', url: 'mcp://tool/forecast' },
    });
    const tx = await devnet.publicClient.getTransactionReceipt({ hash: String(receipt?.reference) as Hex });
    expect(tx.status).toBe('success');
    const after = await balances();
    expect([before.payer - after.payer, after.payee - before.payee]).toEqual([PRICE, PRICE]);
    expect((runs.forecast ?? 0) - runsBefore).toBe(1);
  });

  it('replays: the same call gets the same receipt (no second charge); other arguments and another tool are refused', async () => {
    const client = await connect();
    const credential = await credentialFor(client, 'forecast', { city: 'Oslo' });
    const meta = { [mppMcpMetaKeys.credential]: credential };
    const paid = await call(client, 'forecast', { city: 'Oslo' }, meta);
    expect(textOf(paid)).toBe('Sunny in Oslo');
    const reference = (paid._meta?.[mppMcpMetaKeys.receipt] as { reference?: string } | undefined)?.reference;
    expect(reference).toMatch(/^0x[0-9a-f]{64}$/);
    const afterPaid = await balances();
    const runsPaid = { forecast: runs.forecast ?? 0, echo: runs.echo ?? 0 };

    // The identical call again (a client retry): the same settlement, nothing more moves.
    const again = await call(client, 'forecast', { city: 'Oslo' }, meta);
    expect((again._meta?.[mppMcpMetaKeys.receipt] as { reference?: string } | undefined)?.reference).toBe(reference);

    // Altered arguments: the payment was spent on another request.
    const altered = await call(client, 'forecast', { city: 'Rome' }, meta);
    expect(altered.isError).toBe(true);
    expect(textOf(altered)).not.toContain('Sunny');
    expect(altered._meta?.[mppMcpMetaKeys.receipt]).toBeUndefined();

    // Another tool: the challenge was made for mcp://tool/forecast.
    const otherTool = await call(client, 'echo', { text: 'hi' }, meta);
    expect(otherTool.isError).toBe(true);
    expect(otherTool.structuredContent).toMatchObject({ error: 'challenge_invalid' });

    // A fresh credential for forecast, presented to echo before it was ever used: refused too, nothing moves.
    const fresh = await credentialFor(client, 'forecast', { city: 'Lima' });
    const misdirected = await call(client, 'echo', { text: 'hi' }, { [mppMcpMetaKeys.credential]: fresh });
    expect(misdirected.structuredContent).toMatchObject({ error: 'challenge_invalid' });

    // Not a credential at all.
    const malformed = await call(client, 'forecast', { city: 'Oslo' }, { [mppMcpMetaKeys.credential]: { x: 1 } });
    expect(malformed.isError).toBe(true);
    expect(malformed._meta?.['x402-rails/error']).toMatchObject({ status: 400, reason: 'invalid_payload' });

    expect(runs.echo ?? 0).toBe(runsPaid.echo);
    expect((runs.forecast ?? 0) - runsPaid.forecast).toBeLessThanOrEqual(1); // the identical retry only
    expect(await balances()).toEqual(afterPaid);
  });
});
