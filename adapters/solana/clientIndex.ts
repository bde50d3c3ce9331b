/**
 * x402-rails/solana/client: the paying side of the Solana rail alone, for browsers and other runtimes without
 * `node:crypto` (the server side co-signs and checks Ed25519 signatures through it). Same exports as in
 * `x402-rails/solana`.
 *
 * @example
 * import { solanaExactClient, solanaWallet } from 'x402-rails/solana/client';
 * const pay = payingFetch(fetch, { adapters: [solanaExactClient()], wallets: [solanaWallet(keypair, { connection })] });
 */
export { solanaExactClient } from './client';
export { solanaWallet, isSolanaWallet, type SolanaWallet } from './wallet';
export { buildExactTransaction, type BuildExactTransactionParameters } from './buildExactTransaction';
export {
  SolanaExactPayloadSchema,
  decodePaymentTransaction,
  encodePaymentTransaction,
  type SolanaExactPayload,
} from './payload';
export { solanaNetworkOf, isSolanaNetwork, memoOf } from './requirements';
export { SOLANA_RAIL_ID, SOLANA_WALLET_KIND } from './constants';
