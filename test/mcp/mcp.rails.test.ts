/**
 * Paid MCP tools on every rail, with the real @modelcontextprotocol/sdk Client and McpServer on the shared devnets:
 * over an in-memory transport and over Streamable HTTP. An unpaid call gets the x402 payment-required tool result
 * (the tool does not run); the paying client pays on EVM, Solana or Lightning, the tool runs once, the result carries
 * `_meta["x402/payment-response"]` with a signed receipt bound to the tool and its canonical arguments, and the
 * balances move by the price.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { hashCanonical, verifyReceipt, type ClientRail, type Wallet } from '../../src/index';
import { mcpMetaKeys, paymentRequiredOf, payingMcpClient, toolPaymentOf, type McpPaywall } from '../../src/mcp/index';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { solanaExactClient, solanaWallet } from '../../adapters/solana/index';
import { lightningClient, lightningWallet } from '../../adapters/lightning/index';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import type { StartedServer } from '../../src/server/node';
import {
  ISSUER,
  PRICE,
  PRICE_MSAT,
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
let pw: McpPaywall;
let client: Client;
const runs: Runs = {};
const evmPayee = freshPayee();

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  pw = await toolPaywall(
    net,
    {
      forecast: { accepts: [offers.evm, offers.solana, offers.lightning], description: 'Weather forecast' },
      flaky: { accepts: [offers.evm] },
    },
    evmPayee,
  );
  client = await connectInMemory(paidMcpServer(pw, runs));
});
afterAll(async () => {
  await client?.close();
});

type Rail = { adapters: ClientRail[]; wallets: Wallet[] };
const evmPayer = (): Rail => ({
  adapters: [evmEip3009Client()],
  wallets: [evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient })],
});
const solanaPayer = (): Rail => ({
  adapters: [solanaExactClient()],
  wallets: [solanaWallet(net.solana.keypair('payer2'), { connection: net.solana.connection })],
});
const lightningPayer = (): Rail => ({
  adapters: [lightningClient({ maxFeeMsat: 1_000n })],
  wallets: [lightningWallet(net.lightning.lnd('alice'))],
});

describe('paid MCP tools (in-memory transport)', () => {
  it('an unpaid call answers the x402 payment-required result, in structuredContent and content[0].text, without running the tool', async () => {
    const before = runs.forecast ?? 0;
    const result = await client.callTool({ name: 'forecast', arguments: { city: 'Paris' } });
    expect(result.isError).toBe(true);
    const required = paymentRequiredOf(result as Parameters<typeof paymentRequiredOf>[0]);
    expect(required?.x402Version).toBe(2);
    expect(required?.resource).toMatchObject({ url: 'mcp://tool/forecast', description: 'Weather forecast' });
    expect(required?.accepts.map((a) => a.network.split(':')[0])).toEqual(['eip155', 'solana', 'bip122']);
    expect(result.structuredContent).toEqual(JSON.parse((result.content as Array<{ text: string }>)[0]?.text ?? ''));
    expect(runs.forecast ?? 0).toBe(before);
  });

  it('a free tool runs without payment', async () => {
    const result = await client.callTool({ name: 'free', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'free' }]);
  });

  const cases: Array<[string, () => Rail, string, () => Promise<[bigint, bigint]>, bigint]> = [
    ['EVM EIP-3009', evmPayer, 'evm-eip3009', evmBalances, PRICE],
    ['Solana SPL', solanaPayer, 'solana-spl', solanaBalances, PRICE],
    [
      'Lightning (x402 accepts entry, preimage in the payload)',
      lightningPayer,
      'lightning-l402',
      lightningBalances,
      PRICE_MSAT,
    ],
  ];
  it.each(cases)(
    'the paying client pays on %s: tool runs once, receipt bound to tool + canonical arguments, balances move by the price',
    async (_name, rail, railId, balances, price) => {
      const before = await balances();
      const runsBefore = runs.forecast ?? 0;
      const paying = payingMcpClient(client, { ...rail(), origin: ISSUER, fetch: jwksFetchOf(pw) });
      const args = { city: `Lyon-${railId}` };
      const result = await paying.callTool({ name: 'forecast', arguments: args });
      expect(result.isError).toBeFalsy();
      expect(result.content).toEqual([{ type: 'text', text: `Sunny in ${args.city}` }]);
      expect(runs.forecast).toBe(runsBefore + 1);
      const outcome = toolPaymentOf(result);
      expect(outcome?.receiptError).toBeUndefined();
      expect(outcome?.receiptCheck).toBe('signature');
      expect(outcome?.receipt).toMatchObject({
        rail: railId,
        issuer: ISSUER,
        amount: price.toString(),
        status: 'settled',
        request: { method: 'POST', url: 'mcp://tool/forecast', bodyHash: hashCanonical(args) },
      });
      // The standard SettlementResponse is in the result's _meta, our signed receipt inside it verifies offline.
      const settle = result._meta?.[mcpMetaKeys.paymentResponse] as {
        success: boolean;
        transaction: string;
        extensions: Record<string, unknown>;
      };
      expect(settle.success).toBe(true);
      expect(settle.transaction).toBe(outcome?.receipt?.reference);
      await expect(
        verifyReceipt(settle.extensions['x402-rails/receipt'], pw.paywall.jwks(), { issuer: ISSUER }),
      ).resolves.toMatchObject({ rail: railId });
      if (railId === 'lightning-l402') expect(outcome?.receipt?.proof).toMatch(/^[0-9a-f]{64}$/);
      const after = await balances();
      expect(before[0] - after[0]).toBeGreaterThanOrEqual(price); // Lightning payers also pay routing fees
      expect(after[1] - before[1]).toBe(price);
    },
  );

  it("a tool's own error result is returned and not charged", async () => {
    const before = await evmBalances();
    const paying = payingMcpClient(client, { ...evmPayer(), origin: ISSUER, fetch: jwksFetchOf(pw) });
    const result = await paying.callTool({ name: 'flaky' });
    expect(result).toMatchObject({ isError: true, content: [{ type: 'text', text: 'upstream down' }] });
    expect(runs.flaky).toBe(1);
    expect(result._meta?.[mcpMetaKeys.paymentResponse]).toBeUndefined();
    expect((await evmBalances())[1]).toBe(before[1]);
  });
});

describe('paid MCP tools over Streamable HTTP', () => {
  let http: StartedServer & { pw: McpPaywall };
  let httpClient: Client;
  const httpRuns: Runs = {};
  const payee = freshPayee();
  beforeAll(async () => {
    http = await serveStreamableHttp(async (url) => {
      const p = await toolPaywall(net, { forecast: { accepts: [offers.evm, offers.solana] } }, payee, { issuer: url });
      return { pw: p, makeServer: () => paidMcpServer(p, httpRuns) };
    });
    httpClient = await connectHttp(http.url);
  });
  afterAll(async () => {
    await httpClient?.close();
    await http?.close();
  });

  it('pays a tool on EVM with the JWKS fetched from the server origin; the payee gets the price', async () => {
    const before = await net.evm.balanceOf(payee);
    const paying = payingMcpClient(httpClient, { ...evmPayer(), origin: http.url });
    const result = await paying.callTool({ name: 'forecast', arguments: { city: 'Oslo' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Sunny in Oslo' }]);
    expect(toolPaymentOf(result)).toMatchObject({
      receiptCheck: 'signature',
      receipt: { issuer: http.url, rail: 'evm-eip3009' },
    });
    expect((await net.evm.balanceOf(payee)) - before).toBe(PRICE);
    expect(httpRuns.forecast).toBe(1);
  });

  it('pays a tool on Solana over the same HTTP endpoint', async () => {
    const paying = payingMcpClient(httpClient, { ...solanaPayer(), origin: http.url });
    const result = await paying.callTool({ name: 'forecast', arguments: { city: 'Rome' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Sunny in Rome' }]);
    expect(toolPaymentOf(result)).toMatchObject({
      receiptCheck: 'signature',
      receipt: { rail: 'solana-spl', amount: PRICE.toString() },
    });
  });
});

async function evmBalances(): Promise<[bigint, bigint]> {
  return [await net.evm.balanceOf(net.evm.account('payer').address), await net.evm.balanceOf(evmPayee)];
}
async function solanaBalances(): Promise<[bigint, bigint]> {
  return [
    await net.solana.tokenBalance(net.solana.keypair('payer2').publicKey),
    await net.solana.tokenBalance(net.solana.keypair('payee').publicKey),
  ];
}
async function lightningBalances(): Promise<[bigint, bigint]> {
  return [await net.lightning.channelBalanceMsat('alice'), await net.lightning.channelBalanceMsat('bob')];
}
