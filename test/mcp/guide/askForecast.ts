import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ClientRail, FetchLike, Wallet } from '../../../src/index';
import { payingMcpClient, toolPaymentOf } from '../../../src/mcp/index';

/** An agent's paid tool call: pays on whichever rail it holds a wallet for, within a daily budget. */
export async function askForecast(
  client: Client,
  adapters: ClientRail[],
  wallets: Wallet[],
  token: string,
  fetch?: FetchLike,
) {
  const paying = payingMcpClient(client, {
    adapters,
    wallets,
    origin: 'https://tools.example.com', // whom it pays: budgets, receipt issuer and JWKS
    policy: { budgets: [{ asset: token, limit: 1_000_000n, window: 'day' }] },
    ...(fetch ? { fetch } : {}),
  });
  const result = await paying.callTool({ name: 'forecast', arguments: { city: 'Paris' } });
  const payment = toolPaymentOf(result); // receipt checked: issuer's signature, this tool, these arguments
  return { answer: result.content, receipt: payment?.receipt };
}
