// A paying client: on a 402 it pays in rUSD from X402_EVM_PRIVATE_KEY's wallet (at most 0.05 per request and
// 5 per day), retries, and prints the answer with its checked receipt. Usage: npx tsx examples/client.ts <url>
import { createPublicClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { payingFetch, receiptOf } from 'x402-rails';
import { evmClients, evmWallet } from 'x402-rails/evm';

const url = process.argv[2] ?? 'http://localhost:4021/report';
const token = process.env.X402_EVM_TOKEN_ADDRESS!; // the token this client agrees to pay in
const publicClient = createPublicClient({ transport: http(process.env.X402_EVM_RPC_URL) });
const account = privateKeyToAccount(process.env.X402_EVM_PRIVATE_KEY as Hex);

const pay = payingFetch(fetch, {
  adapters: evmClients(),
  wallets: [evmWallet(account, { publicClient })],
  policy: {
    assets: { allow: [token] },
    maxPerRequest: { [token]: 50_000n },
    budgets: [{ asset: token, limit: 5_000_000n, window: 'day' }],
  },
});
const res = await pay(url);
const paid = receiptOf(res); // the server's signed receipt, checked against its JWKS, this request and this offer
console.log(
  JSON.stringify({ status: res.status, body: await res.json(), receipt: paid?.receipt, check: paid?.receiptCheck }),
);
