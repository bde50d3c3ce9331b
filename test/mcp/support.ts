/**
 * An MCP server with paid tools on the shared devnets (EVM EIP-3009, Solana SPL, Lightning), reached by the real
 * `@modelcontextprotocol/sdk` Client over an in-memory transport or over Streamable HTTP.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import type { Address } from 'viem';
import { z } from 'zod';
import {
  createReceiptSigner,
  RECEIPT_JWKS_PATH,
  type CaipNetwork,
  type PriceOffer,
  type ServerRail,
} from '../../src/index';
import {
  mcpMetaKeys,
  mcpPaywall,
  type McpPaywall,
  type McpPaywallOptions,
  type PaidToolsConfig,
} from '../../src/mcp/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { evmEip3009Server } from '../../adapters/evm/index';
import { solanaExactServer } from '../../adapters/solana/index';
import { lightningServer } from '../../adapters/lightning/index';
import type { SharedDevnets } from '../support/connectSharedDevnets';

export const PRICE = 9_000n;
export const PRICE_MSAT = 17_000n;
export const ISSUER = 'https://tools.test';

/** A fresh EVM payee address, so its balance moves only by what this file pays it. */
export function freshPayee(): Address {
  return privateKeyToAccount(generatePrivateKey()).address;
}

/** The three server rails on the shared devnets, EVM paying `evmPayTo`. */
export function serverRails(net: SharedDevnets, evmPayTo: Address): ServerRail[] {
  const d = net.description;
  return [
    evmEip3009Server({
      publicClient: net.evm.publicClient,
      walletClient: net.evm.walletClient('facilitator'),
      pollingIntervalMs: 5,
      chainId: d.evm.chainId,
      token: net.evm.token,
      payTo: evmPayTo,
    }),
    solanaExactServer({
      connection: net.solana.connection,
      network: d.solana.network as CaipNetwork,
      feePayer: net.solana.keypair('feePayer'),
      mints: [net.solana.mint],
      payTo: net.solana.keypair('payee').publicKey,
      pollIntervalMs: 20,
    }),
    lightningServer({
      lnd: net.lightning.lnd('bob'),
      rootKey: new Uint8Array(randomBytes(32)),
      network: d.lightning.network as CaipNetwork,
    }),
  ];
}

export const offers = {
  evm: { rail: 'evm-eip3009', amount: PRICE },
  solana: { rail: 'solana-spl', amount: PRICE },
  lightning: { rail: 'lightning-l402', amount: PRICE_MSAT },
} satisfies Record<string, PriceOffer>;

/** Counts of tool runs, by tool. */
export type Runs = Record<string, number>;

/**
 * A McpServer whose tools are priced by `tools`: `forecast({ city })` (paid), `echo({ text })` (paid when priced),
 * `summarize({ text })` (reports one usage unit per word, for metering), `free()`, and `flaky()` which answers a tool
 * error.
 */
export function paidMcpServer(pw: McpPaywall, runs: Runs): McpServer {
  const server = new McpServer({ name: 'paid-tools', version: '1.0.0' });
  const count = (name: string) => {
    runs[name] = (runs[name] ?? 0) + 1;
  };
  server.registerTool(
    'forecast',
    { description: 'Weather forecast', inputSchema: { city: z.string() } },
    pw.tool('forecast', async ({ city }) => {
      count('forecast');
      return { content: [{ type: 'text', text: `Sunny in ${city}` }] };
    }),
  );
  server.registerTool(
    'echo',
    { description: 'Echo', inputSchema: { text: z.string() } },
    pw.tool('echo', async ({ text }) => {
      count('echo');
      return { content: [{ type: 'text', text }] };
    }),
  );
  server.registerTool(
    'summarize',
    { description: 'Summarize (metered: one unit per word)', inputSchema: { text: z.string() } },
    pw.tool('summarize', async ({ text }) => {
      count('summarize');
      const words = text.split(/\s+/).filter((w) => w.length > 0).length;
      return { content: [{ type: 'text', text: `${words} words` }], _meta: { [mcpMetaKeys.usage]: words } };
    }),
  );
  server.registerTool('free', { description: 'Free' }, async () => {
    count('free');
    return { content: [{ type: 'text', text: 'free' }] };
  });
  server.registerTool(
    'flaky',
    { description: 'Always fails' },
    pw.tool('flaky', async () => {
      count('flaky');
      return { isError: true, content: [{ type: 'text', text: 'upstream down' }] };
    }),
  );
  return server;
}

/** An MCP paywall over the devnet rails with `tools` priced. */
export async function toolPaywall(
  net: SharedDevnets,
  tools: PaidToolsConfig,
  evmPayTo: Address,
  options: Partial<McpPaywallOptions> = {},
): Promise<McpPaywall> {
  return mcpPaywall(tools, {
    rails: serverRails(net, evmPayTo),
    signer: await createReceiptSigner(),
    issuer: ISSUER,
    ...options,
  });
}

/** A real SDK client connected in memory to `server`; `jwksFetch` serves the issuer's JWKS from the paywall. */
export async function connectInMemory(server: McpServer): Promise<Client> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(clientTransport);
  return client;
}

/** Answers the issuer's JWKS as its origin would (the in-memory transport has no HTTP). */
export function jwksFetchOf(pw: McpPaywall): (input: Request | string | URL) => Promise<Response> {
  return async (input) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.origin === ISSUER && url.pathname === RECEIPT_JWKS_PATH) return Response.json(pw.paywall.jwks());
    return new Response('not found', { status: 404 });
  };
}

/**
 * Serves MCP over Streamable HTTP (stateless: a server and transport per request) at `/mcp`, and the paywall's JWKS at
 * its well-known path, on an ephemeral port. `build(url)` makes the paywall knowing the server's URL (its issuer).
 */
export async function serveStreamableHttp(
  build: (url: string) => Promise<{ pw: McpPaywall; makeServer: () => McpServer }>,
): Promise<StartedServer & { pw: McpPaywall }> {
  let built: { pw: McpPaywall; makeServer: () => McpServer } | undefined;
  const started = await serveFetch(async (request) => {
    if (!built) return new Response('starting', { status: 503 });
    const url = new URL(request.url);
    if (url.pathname === RECEIPT_JWKS_PATH) return Response.json(built.pw.paywall.jwks());
    if (url.pathname !== '/mcp') return new Response('not found', { status: 404 });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await built.makeServer().connect(transport);
    return transport.handleRequest(request);
  });
  built = await build(started.url);
  return { ...started, pw: built.pw };
}

/** A real SDK client over Streamable HTTP to `${url}/mcp`. */
export async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}
