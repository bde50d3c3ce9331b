// What every server example settles with: the chain, the gas account that submits settlements, the token and the
// payee, from the environment. `npx x402-rails devnet up` prints them for its local chain (the `export` line for
// servers); on Base you would name USDC ('USD Coin', version '2') and your own RPC, gas account and payee.
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const setting = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} (npx x402-rails devnet up prints it).`);
  return value;
};

const rpcUrl = setting('X402_EVM_RPC_URL');
const chainId = await createPublicClient({ transport: http(rpcUrl) }).getChainId();
const chain = defineChain({
  id: chainId,
  name: `eip155:${chainId}`,
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [rpcUrl] } },
});
const gasAccount = privateKeyToAccount(setting('X402_EVM_GAS_PRIVATE_KEY') as Hex);

/** The parameters of `evmEip3009Server` (and of the other EVM server rails). */
export const evm = {
  chainId,
  publicClient: createPublicClient({ chain, transport: http(rpcUrl) }),
  walletClient: createWalletClient({ account: gasAccount, chain, transport: http(rpcUrl) }), // pays the gas
  token: { address: setting('X402_EVM_TOKEN_ADDRESS') as Address, name: 'Rails USD', version: '2' }, // EIP-712 domain
  payTo: setting('X402_EVM_PAY_TO') as Address,
};

/** The public origin clients reach: receipts name it, and clients fetch its JWKS. */
export const port = Number(process.env.PORT ?? 4021);
export const issuer = process.env.X402_ISSUER ?? `http://localhost:${port}`;
