import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ReceiptSigner, ServerRail } from '../../../src/index';
import { bazaar, offerReceipt, paymentIdentifier } from '../../../src/extensions/index';
import { mcpPaywall } from '../../../src/mcp/index';

/** An MCP server whose `forecast` tool costs 0.01 token on EVM or Solana, or 20 sats over Lightning. */
export function paidToolServer(rails: ServerRail[], signer: ReceiptSigner) {
  const tools = mcpPaywall(
    {
      forecast: {
        accepts: [
          { rail: 'evm-eip3009', amount: 10_000n },
          { rail: 'solana-spl', amount: 10_000n },
          { rail: 'lightning-l402', amount: 20_000n }, // msat
        ],
        description: 'Weather forecast',
        discovery: {
          serviceName: 'Weather',
          input: { inputSchema: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      },
    },
    {
      rails,
      signer,
      issuer: 'https://tools.example.com', // receipts name it; clients fetch its JWKS
      extensions: [offerReceipt({ format: 'jws', signer }), paymentIdentifier(), bazaar()],
    },
  );
  const server = new McpServer({ name: 'weather', version: '1.0.0' });
  server.registerTool(
    'forecast',
    { description: 'Weather forecast', inputSchema: { city: z.string() } },
    tools.tool('forecast', async ({ city }) => ({ content: [{ type: 'text', text: `Sunny in ${city}` }] })),
  );
  return { server, tools };
}
