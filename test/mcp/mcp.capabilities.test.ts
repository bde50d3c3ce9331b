/**
 * Capabilities and metering for MCP tools, on the shared devnets (anvil, EIP-3009) with the real SDK client and server,
 * in memory and over Streamable HTTP: one payment buys a capability for N more calls of the tool (the token travels in
 * `_meta["x402-rails/capability"]`, the paying client presents it by itself and pays again once it is spent), and a
 * metered tool draws what each call used from a deposit, answers signed incremental receipts, and its close refunds
 * exactly the unused balance on chain. Token balances are checked after each step.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { capabilities, jwsCapabilityToken } from '../../src/capabilities/index';
import { createReceiptSigner, verifyReceipt } from '../../src/index';
import { metering } from '../../src/metering/index';
import { mcpMetaKeys, payingMcpClient, toolCredentialsOf, toolPaymentOf, type McpPaywall } from '../../src/mcp/index';
import { evmEip3009Client, evmRefunder, evmWallet } from '../../adapters/evm/index';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import { anvilClients } from '../support/evmProcessRail';
import {
  ISSUER,
  PRICE,
  connectHttp,
  connectInMemory,
  freshPayee,
  jwksFetchOf,
  offers,
  paidMcpServer,
  serveStreamableHttp,
  toolPaywall,
  type Runs,
} from './support';

let net: SharedDevnets;
const wallet = () => evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient });
const texts = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : c.type));

beforeAll(() => {
  net = connectSharedDevnets(inject('devnets'));
});

describe('capabilities for MCP tools', () => {
  let pw: McpPaywall;
  let client: Client;
  const runs: Runs = {};
  const payee = freshPayee();

  beforeAll(async () => {
    const caps = capabilities({
      token: await jwsCapabilityToken(),
      issuer: ISSUER,
      grants: { 'POST /forecast': { calls: 3, ttlSeconds: 600 } },
    });
    pw = await toolPaywall(net, { forecast: { accepts: [offers.evm] } }, payee, { extensions: [caps] });
    client = await connectInMemory(paidMcpServer(pw, runs));
  });
  afterAll(async () => {
    await client?.close();
  });

  it('in memory: one payment buys the paid call + 3 capability calls (remaining 2, 1, 0), then the client pays again by itself; payee +PRICE, then +2×PRICE', async () => {
    const paying = payingMcpClient(client, {
      adapters: [evmEip3009Client()],
      wallets: [wallet()],
      origin: ISSUER,
      fetch: jwksFetchOf(pw),
    });
    const start = await net.evm.balanceOf(payee);

    const bought = await paying.callTool({ name: 'forecast', arguments: { city: 'Paris' } });
    expect(texts(bought)).toEqual(['Sunny in Paris']);
    expect(toolPaymentOf(bought)?.receipt?.status).toBe('settled');
    const token = toolCredentialsOf(bought).capability?.token;
    expect(token).toMatch(/^ey/);
    expect(await net.evm.balanceOf(payee)).toBe(start + PRICE);

    const remaining: Array<number | undefined> = [];
    for (const city of ['Oslo', 'Rome', 'Lima']) {
      const result = await paying.callTool({ name: 'forecast', arguments: { city } });
      expect(texts(result)).toEqual([`Sunny in ${city}`]);
      expect(toolPaymentOf(result)).toBeUndefined(); // nothing paid
      remaining.push(toolCredentialsOf(result).capability?.remaining);
    }
    expect(remaining).toEqual([2, 1, 0]);
    expect(await net.evm.balanceOf(payee)).toBe(start + PRICE);
    expect(runs.forecast).toBe(4);

    const again = await paying.callTool({ name: 'forecast', arguments: { city: 'Kyiv' } });
    expect(texts(again)).toEqual(['Sunny in Kyiv']);
    expect(toolPaymentOf(again)?.receipt?.status).toBe('settled');
    expect(toolCredentialsOf(again).capability?.token).not.toBe(token);
    expect(await net.evm.balanceOf(payee)).toBe(start + 2n * PRICE);
  });

  it('the raw SDK client presents _meta["x402-rails/capability"] itself; malformed capability meta is refused (400) before the tool runs', async () => {
    const paying = payingMcpClient(client, {
      adapters: [evmEip3009Client()],
      wallets: [wallet()],
      origin: ISSUER,
      fetch: jwksFetchOf(pw),
      capabilities: false,
    });
    const bought = await paying.callTool({ name: 'forecast', arguments: { city: 'Bern' } });
    const token = toolCredentialsOf(bought).capability?.token ?? '';
    const before = await net.evm.balanceOf(payee);
    const call = async (city: string) =>
      (await client.callTool({
        name: 'forecast',
        arguments: { city },
        _meta: { [mcpMetaKeys.capability]: token },
      })) as CallToolResult;
    expect(toolCredentialsOf(await call('Bonn')).capability?.remaining).toBe(2);
    expect(toolCredentialsOf(await call('Metz')).capability?.remaining).toBe(1);
    expect(await net.evm.balanceOf(payee)).toBe(before);
    // Malformed capability meta → a 400 error result, the tool does not run.
    const ran = runs.forecast;
    const bad = (await client.callTool({
      name: 'forecast',
      arguments: { city: 'X' },
      _meta: { [mcpMetaKeys.capability]: 42 },
    })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(bad._meta?.[mcpMetaKeys.error]).toMatchObject({ status: 400, code: 'CAPABILITY__TOKEN__MALFORMED' });
    expect(runs.forecast).toBe(ran);
  });
});

describe('capabilities over Streamable HTTP', () => {
  it('one payment, then the capability calls over HTTP: payee +PRICE once for 3 calls', async () => {
    const runs: Runs = {};
    const payee = freshPayee();
    const token = await jwsCapabilityToken();
    const signer = await createReceiptSigner();
    const started = await serveStreamableHttp(async (url) => {
      const caps = capabilities({ token, issuer: url, grants: { 'POST /forecast': { calls: 2, ttlSeconds: 600 } } });
      const pw = await toolPaywall(net, { forecast: { accepts: [offers.evm] } }, payee, {
        issuer: url,
        signer,
        extensions: [caps],
      });
      return { pw, makeServer: () => paidMcpServer(pw, runs) };
    });
    const client = await connectHttp(started.url);
    try {
      const paying = payingMcpClient(client, {
        adapters: [evmEip3009Client()],
        wallets: [wallet()],
        origin: started.url,
      });
      const start = await net.evm.balanceOf(payee);
      const results = [];
      for (const city of ['Paris', 'Oslo', 'Rome'])
        results.push(await paying.callTool({ name: 'forecast', arguments: { city } }));
      expect(results.map((r) => texts(r)[0])).toEqual(['Sunny in Paris', 'Sunny in Oslo', 'Sunny in Rome']);
      expect(results.map((r) => toolPaymentOf(r) !== undefined)).toEqual([true, false, false]);
      expect(results.map((r) => toolCredentialsOf(r).capability?.remaining)).toEqual([undefined, 1, 0]);
      expect(await net.evm.balanceOf(payee)).toBe(start + PRICE);
      expect(runs.forecast).toBe(3);
    } finally {
      await client.close();
      await started.close();
    }
  });
});

describe('metered MCP tools', () => {
  const DEPOSIT = 9_000n; // offers.evm
  const UNIT_PRICE = 10n;
  it('over Streamable HTTP: the deposit opens a session; calls draw their reported usage (signed incremental receipts); close refunds deposit − used on chain, once', async () => {
    const runs: Runs = {};
    // The payee is a fresh account with gas: it receives the deposit and sends the refund.
    const payeeKey = generatePrivateKey();
    const payee = privateKeyToAccount(payeeKey).address;
    await net.evm.publicClient.request({
      // @ts-expect-error anvil's own RPC method
      method: 'anvil_setBalance',
      params: [payee, '0xde0b6b3a7640000'],
    });
    const { walletClient } = anvilClients(net.description.evm.rpcUrl, net.description.evm.chainId);
    const signer = await createReceiptSigner();
    const started = await serveStreamableHttp(async (url) => {
      const meter = metering({
        token: await jwsCapabilityToken(),
        signer,
        routes: { 'POST /summarize': { maxUnitsPerCall: 100n, unitPrice: UNIT_PRICE, ttlSeconds: 600 } },
        refunds: {
          'evm-eip3009': evmRefunder({
            publicClient: net.evm.publicClient,
            walletClient: walletClient(payeeKey),
            confirmTimeoutMs: 10_000,
            pollingIntervalMs: 5,
          }),
        },
      });
      const pw = await toolPaywall(net, { summarize: { accepts: [offers.evm] } }, payee, {
        issuer: url,
        signer,
        extensions: [meter],
      });
      return {
        pw,
        makeServer: () => paidMcpServer(pw, runs),
      };
    });
    const client = await connectHttp(started.url);
    try {
      const paying = payingMcpClient(client, {
        adapters: [evmEip3009Client()],
        wallets: [wallet()],
        origin: started.url,
      });
      const start = await net.evm.balanceOf(payee);
      const jwks = started.pw.paywall.jwks();

      const deposit = await paying.callTool({ name: 'summarize', arguments: { text: 'one two three' } });
      expect(texts(deposit)).toEqual(['3 words']);
      expect(deposit._meta?.[mcpMetaKeys.usage]).toBeUndefined(); // the usage report does not leave the server
      expect(toolPaymentOf(deposit)?.receipt?.amount).toBe(DEPOSIT.toString());
      const opened = toolCredentialsOf(deposit).metering;
      const session = opened?.session ?? '';
      expect(session).not.toBe('');
      expect((await verifyReceipt(opened?.receipt, jwks)).metering).toMatchObject({ seq: 1, used: '30' });
      expect(await net.evm.balanceOf(payee)).toBe(start + DEPOSIT);

      const used: string[] = [];
      for (const text of ['a b c d e', 'x'.repeat(3), 'alpha beta']) {
        const result = await paying.callTool({
          name: 'summarize',
          arguments: { text },
          _meta: { [mcpMetaKeys.metering]: { session } },
        });
        expect(toolPaymentOf(result)).toBeUndefined();
        const receipt = await verifyReceipt(toolCredentialsOf(result).metering?.receipt, jwks);
        used.push(`${receipt.metering?.used}/${receipt.metering?.remaining}`);
      }
      // units × 10: 30 (the deposit's call), then 50, 10, 20
      expect(used).toEqual(['80/8920', '90/8910', '110/8890']);
      expect(await net.evm.balanceOf(payee)).toBe(start + DEPOSIT);
      expect(runs.summarize).toBe(4);

      // A close is a call of the tool (arguments valid for its input schema, which the SDK checks first) that the
      // paywall answers itself: the tool does not run.
      const closing = (await client.callTool({
        name: 'summarize',
        arguments: { text: '' },
        _meta: { [mcpMetaKeys.metering]: { session, close: true } },
      })) as CallToolResult;
      expect(closing.isError, JSON.stringify(closing)).toBeUndefined();
      const closed = closing.structuredContent as { refund: { status: string; amount: string }; receipt: unknown };
      expect(closed.refund).toMatchObject({ status: 'sent', amount: String(DEPOSIT - 110n) });
      const final = await verifyReceipt(closed.receipt, jwks);
      expect(final.metering).toMatchObject({ final: true, used: '110' });
      expect(runs.summarize).toBe(4); // the close does not run the tool
      expect(await net.evm.balanceOf(payee)).toBe(start + 110n);

      // Closing again answers the recorded close; no second refund. The closed session serves nothing more.
      const again = (await client.callTool({
        name: 'summarize',
        arguments: { text: '' },
        _meta: { [mcpMetaKeys.metering]: { session, close: true } },
      })) as CallToolResult;
      expect((again.structuredContent as { refund: unknown }).refund).toEqual(closed.refund);
      const afterClose = (await client.callTool({
        name: 'summarize',
        arguments: { text: 'more' },
        _meta: { [mcpMetaKeys.metering]: { session } },
      })) as CallToolResult;
      expect(afterClose.isError).toBe(true);
      expect(toolCredentialsOf(afterClose).metering?.error).toBe('metering_closed');
      expect(runs.summarize).toBe(4);
      expect(await net.evm.balanceOf(payee)).toBe(start + 110n);
    } finally {
      await client.close();
      await started.close();
    }
  });
});
