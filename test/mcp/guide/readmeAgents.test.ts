/**
 * The README's "Agents" section shows these two files verbatim (with the package's import paths), and this test
 * runs them on the shared devnets: the real SDK client pays the paid tool on EVM and on Lightning.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { createReceiptSigner, RECEIPT_JWKS_PATH } from '../../../src/index';
import { evmEip3009Client, evmWallet } from '../../../adapters/evm/index';
import { lightningClient, lightningWallet } from '../../../adapters/lightning/index';
import { connectSharedDevnets, type SharedDevnets } from '../../support/connectSharedDevnets';
import { connectInMemory, freshPayee, serverRails } from '../support';
import { paidToolServer } from './paidToolServer';
import { askForecast } from './askForecast';
import { forecastTwice, forecastWithCapabilities } from './capabilityTools';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

function asPublished(source: string): string {
  return source
    .replaceAll("'../../../src/index'", "'x402-rails'")
    .replaceAll("'../../../src/extensions/index'", "'x402-rails/extensions'")
    .replaceAll("'../../../src/mcp/index'", "'x402-rails/mcp'")
    .replaceAll("'../../../src/capabilities/index'", "'x402-rails/capabilities'")
    .trim();
}

function sectionBlocks(): string[] {
  const readme = read('../../../README.md');
  const start = readme.indexOf('## Agents');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return [...readme.slice(start, end === -1 ? undefined : end).matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) =>
    (m[1] ?? '').trim(),
  );
}

let net: SharedDevnets;
let client: Client;
let jwks: () => unknown;

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  const signer = await createReceiptSigner();
  const { server } = paidToolServer(serverRails(net, freshPayee()), signer);
  client = await connectInMemory(server);
  jwks = () => signer.jwks();
});
afterAll(async () => {
  await client?.close();
});

const jwksFetch = async (input: Request | string | URL) =>
  new URL(input instanceof Request ? input.url : input.toString()).pathname === RECEIPT_JWKS_PATH
    ? Response.json(jwks())
    : new Response(null, { status: 404 });

describe('README: Agents', () => {
  it('shows paidToolServer.ts and askForecast.ts exactly as they are tested', () => {
    expect(sectionBlocks().slice(0, 3)).toEqual([
      asPublished(read('./paidToolServer.ts')),
      asPublished(read('./askForecast.ts')),
      asPublished(read('./capabilityTools.ts')),
    ]);
  });

  it('the agent pays the tool on EVM, receipt bound to the tool', async () => {
    const { answer, receipt } = await askForecast(
      client,
      [evmEip3009Client()],
      [evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient })],
      net.evm.token.address,
      jwksFetch,
    );
    expect(answer).toEqual([{ type: 'text', text: 'Sunny in Paris' }]);
    expect(receipt).toMatchObject({
      rail: 'evm-eip3009',
      issuer: 'https://tools.example.com',
      request: { url: 'mcp://tool/forecast' },
    });
  });

  it('and over Lightning, with the preimage as proof', async () => {
    const { receipt } = await askForecast(
      client,
      [lightningClient({ maxFeeMsat: 1_000n })],
      [lightningWallet(net.lightning.lnd('alice'))],
      'msat',
      jwksFetch,
    );
    expect(receipt).toMatchObject({ rail: 'lightning-l402', amount: '20000' });
    expect(receipt?.proof).toMatch(/^[0-9a-f]{64}$/);
  });

  it('capabilities over MCP: the first call pays, the second is served by the capability it bought (99 left); payee paid once', async () => {
    const signer = await createReceiptSigner();
    const payee = freshPayee();
    const tools = await forecastWithCapabilities(serverRails(net, payee), signer);
    const server = new McpServer({ name: 'weather', version: '1.0.0' });
    server.registerTool(
      'forecast',
      { inputSchema: { city: z.string() } },
      tools.tool('forecast', async ({ city }) => ({ content: [{ type: 'text', text: `Sunny in ${city}` }] })),
    );
    const capClient = await connectInMemory(server);
    try {
      const before = await net.evm.balanceOf(payee);
      const jwksOf = async (input: Request | string | URL) =>
        new URL(input instanceof Request ? input.url : input.toString()).pathname === RECEIPT_JWKS_PATH
          ? Response.json(signer.jwks())
          : new Response(null, { status: 404 });
      const out = await forecastTwice(
        capClient,
        [evmEip3009Client()],
        [evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient })],
        jwksOf,
      );
      expect(out).toMatchObject({ paid: { rail: 'evm-eip3009', amount: '10000' }, secondPaid: false, callsLeft: 99 });
      expect(await net.evm.balanceOf(payee)).toBe(before + 10_000n);
    } finally {
      await capClient.close();
    }
  });
});
