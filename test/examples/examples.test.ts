/**
 * Every server in examples/ runs as the README says (`npx tsx examples/<file>`, package imports), on a devnet of
 * its own, and examples/client.ts pays it: the answer is the paid content, the receipt is the server's (signature
 * checked against its JWKS), and the payer's and payee's token balances moved by exactly the price. The Next.js
 * route handler is served as a Fetch handler; the MCP tool is paid by the official SDK client over Streamable HTTP.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { payingMcpClient, toolPaymentOf } from '../../src/mcp/index';
import { serveFetch } from '../../src/server/node';
import { FACILITATOR_KEY, startEvmFacilitator } from '../support/facilitatorHarness';
import { freePort, runExample, startExample, type ExampleServer } from './runExample';

const PRICE = 10_000n;
/** Each example is a tsx child process (and the client another): seconds each on an idle machine, more under load. */
const TIMEOUT = 120_000;

let devnet: EvmDevnet;
let serverEnv: Record<string, string>;
const running: Array<{ stop(): Promise<void> }> = [];

const servers = new Map<string, ExampleServer>();
let facilitatorUrl: string;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  serverEnv = {
    X402_EVM_RPC_URL: devnet.rpcUrl,
    X402_EVM_GAS_PRIVATE_KEY: devnet.accounts.facilitator.privateKey,
    X402_EVM_TOKEN_ADDRESS: devnet.token.address,
    X402_EVM_PAY_TO: devnet.accounts.payee.address,
  };
  const facilitator = await startEvmFacilitator(devnet);
  running.push({ stop: () => facilitator.close() });
  facilitatorUrl = facilitator.url;
  // The servers start together (each a tsx process); the payments below run one at a time, so balances add up.
  const env: Record<string, Record<string, string>> = {
    'hono-server.ts': {},
    'express-server.ts': {},
    'fastify-server.ts': {},
    // Its own gas account is never used: the deployer's nonce would show a transaction.
    'facilitator-server.ts': {
      X402_EVM_GAS_PRIVATE_KEY: devnet.accounts.deployer.privateKey,
      X402_FACILITATOR_URL: facilitatorUrl,
      X402_FACILITATOR_API_KEY: FACILITATOR_KEY,
    },
    'mcp-tool.ts': {},
  };
  await Promise.all(
    Object.entries(env).map(async ([file, extra]) => {
      const server = await startExample(file, { ...serverEnv, ...extra });
      running.push(server);
      servers.set(file, server);
    }),
  );
}, TIMEOUT);
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await devnet?.stop();
});

/** Balances of payer and payee, to compare before and after a payment. */
async function balances() {
  return {
    payer: await devnet.balanceOf(devnet.accounts.payer.address),
    payee: await devnet.balanceOf(devnet.accounts.payee.address),
  };
}

/** Pays `url` with examples/client.ts and checks the answer, the receipt and that exactly the price moved. */
async function payWithClientExample(url: string) {
  const before = await balances();
  const out = await runExample('client.ts', [url], {
    X402_EVM_RPC_URL: devnet.rpcUrl,
    X402_EVM_PRIVATE_KEY: devnet.accounts.payer.privateKey,
    X402_EVM_TOKEN_ADDRESS: devnet.token.address,
  });
  const printed = JSON.parse(out.trim().split('\n').at(-1) ?? '') as {
    status: number;
    body: unknown;
    receipt?: Record<string, unknown>;
    check?: string;
  };
  expect(printed).toMatchObject({
    status: 200,
    body: { report: 'paid content' },
    check: 'signature',
    receipt: {
      rail: 'evm-eip3009',
      amount: PRICE.toString(),
      issuer: new URL(url).origin,
      payer: devnet.accounts.payer.address,
      payee: devnet.accounts.payee.address,
      status: 'settled',
    },
  });
  const after = await balances();
  expect(before.payer - after.payer).toBe(PRICE);
  expect(after.payee - before.payee).toBe(PRICE);
}

function started(file: string): ExampleServer {
  const server = servers.get(file);
  if (!server) throw new Error(`${file} was not started`);
  return server;
}

describe('examples/', () => {
  it.each(['hono-server.ts', 'express-server.ts', 'fastify-server.ts'])(
    '%s: the client example pays GET /report',
    async (file) => {
      const server = started(file);
      const unpaid = await fetch(`${server.url}/report`);
      expect(unpaid.status).toBe(402);
      expect(unpaid.headers.get('payment-required')).toBeTruthy();
      await payWithClientExample(`${server.url}/report`);
    },
    TIMEOUT,
  );

  it('facilitator-server.ts: paid through a facilitator, whose gas account submits the settlement', async () => {
    const gasNonce = () => devnet.publicClient.getTransactionCount({ address: devnet.accounts.facilitator.address });
    const nonceBefore = await gasNonce();
    const server = started('facilitator-server.ts');
    const deployerNonce = await devnet.publicClient.getTransactionCount({ address: devnet.accounts.deployer.address });
    await payWithClientExample(`${server.url}/report`);
    expect(await gasNonce()).toBe(nonceBefore + 1);
    expect(await devnet.publicClient.getTransactionCount({ address: devnet.accounts.deployer.address })).toBe(
      deployerNonce,
    );
  });

  it(
    'next-route.ts: the exported GET handler, served as a Fetch handler, is paid',
    async () => {
      const port = await freePort();
      Object.assign(process.env, serverEnv, { PORT: String(port) });
      const { GET } = await import('../../examples/next-route');
      const server = await serveFetch(GET, { port, hostname: 'localhost' });
      running.push({ stop: () => server.close() });
      await payWithClientExample(`http://localhost:${port}/report`);
    },
    TIMEOUT,
  );

  it(
    'mcp-tool.ts: the official MCP client pays the forecast tool; receipt bound to the tool call',
    async () => {
      const server = started('mcp-tool.ts');
      const client = new Client({ name: 'agent', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      running.push({ stop: () => client.close() });
      const before = await balances();
      const paying = payingMcpClient(client, {
        adapters: [evmEip3009Client()],
        wallets: [
          evmWallet(privateKeyToAccount(devnet.accounts.payer.privateKey), { publicClient: devnet.publicClient }),
        ],
        origin: server.url,
      });
      const result = await paying.callTool({ name: 'forecast', arguments: { city: 'Paris' } });
      expect(result.content).toEqual([{ type: 'text', text: 'Sunny in Paris' }]);
      expect(toolPaymentOf(result)).toMatchObject({
        receiptCheck: 'signature',
        receipt: { rail: 'evm-eip3009', amount: PRICE.toString(), request: { url: 'mcp://tool/forecast' } },
      });
      const after = await balances();
      expect(before.payer - after.payer).toBe(PRICE);
      expect(after.payee - before.payee).toBe(PRICE);
    },
    TIMEOUT,
  );
});
