import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ClientRail, FetchLike, ReceiptSigner, ServerRail, Wallet } from '../../../src/index';
import { capabilities, jwsCapabilityToken } from '../../../src/capabilities/index';
import { mcpPaywall, payingMcpClient, toolCredentialsOf, toolPaymentOf } from '../../../src/mcp/index';

/** Server: one payment for `forecast` buys 100 more calls of it within the hour. */
export async function forecastWithCapabilities(rails: ServerRail[], signer: ReceiptSigner) {
  const caps = capabilities({
    token: await jwsCapabilityToken(),
    issuer: 'https://tools.example.com',
    grants: { 'POST /forecast': { calls: 100, ttlSeconds: 3600 } }, // a tool's route key is POST /<tool name>
  });
  return mcpPaywall(
    { forecast: { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }] } },
    { rails, signer, issuer: 'https://tools.example.com', extensions: [caps] },
  );
}

/** Agent: the first call pays; the next presents the capability it bought (`_meta["x402-rails/capability"]`). */
export async function forecastTwice(client: Client, adapters: ClientRail[], wallets: Wallet[], fetch?: FetchLike) {
  const paying = payingMcpClient(client, {
    adapters,
    wallets,
    origin: 'https://tools.example.com',
    ...(fetch ? { fetch } : {}),
  });
  const first = await paying.callTool({ name: 'forecast', arguments: { city: 'Paris' } });
  const second = await paying.callTool({ name: 'forecast', arguments: { city: 'Oslo' } });
  return {
    paid: toolPaymentOf(first)?.receipt, // settled once
    secondPaid: toolPaymentOf(second) !== undefined, // false: served by the capability
    callsLeft: toolCredentialsOf(second).capability?.remaining, // 99
  };
}
