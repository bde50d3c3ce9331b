// A paid MCP tool over Streamable HTTP: `forecast` costs 0.01 rUSD a call. The payment travels in the call's
// `_meta`, the signed receipt in the result's; the receipt key is served beside the MCP endpoint.
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { createReceiptSigner, RECEIPT_JWKS_PATH } from 'x402-rails';
import { evmEip3009Server } from 'x402-rails/evm';
import { mcpPaywall } from 'x402-rails/mcp';
import { evm, issuer, port } from './evmSettings';

const signer = await createReceiptSigner();
const tools = mcpPaywall(
  { forecast: { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }], description: 'Weather forecast' } },
  { rails: [evmEip3009Server(evm)], signer, issuer },
);

function weatherServer(): McpServer {
  const server = new McpServer({ name: 'weather', version: '1.0.0' });
  server.registerTool(
    'forecast',
    { description: 'Weather forecast', inputSchema: { city: z.string() } },
    tools.tool('forecast', async ({ city }) => ({ content: [{ type: 'text', text: `Sunny in ${city}` }] })),
  );
  return server;
}

createServer(async (req, res) => {
  if (req.url === RECEIPT_JWKS_PATH) {
    res.setHeader('Content-Type', 'application/json').end(JSON.stringify(signer.jwks()));
    return;
  }
  const server = weatherServer(); // stateless: one server and transport per request
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => void Promise.all([transport.close(), server.close()]));
  await server.connect(transport);
  await transport.handleRequest(req, res);
}).listen(port, () => console.log(`listening on ${issuer}`));
