import type { Connection, Keypair, PublicKey } from '@solana/web3.js';
import type { Wallet } from '../../src/index';
import { SOLANA_WALLET_KIND } from './constants';

/** A Solana wallet: a keypair that signs as transfer authority, and a connection to read mints and blockhashes. */
export type SolanaWallet = Wallet & {
  readonly kind: typeof SOLANA_WALLET_KIND;
  readonly keypair: Keypair;
  readonly publicKey: PublicKey;
  readonly connection: Connection;
};

/**
 * Wraps a keypair as a payment wallet for the Solana rail.
 *
 * @example const wallet = solanaWallet(keypair, { connection: new Connection(rpcUrl) });
 */
export function solanaWallet(keypair: Keypair, options: { connection: Connection }): SolanaWallet {
  return { kind: SOLANA_WALLET_KIND, keypair, publicKey: keypair.publicKey, connection: options.connection };
}

/** True for a wallet made by {@link solanaWallet}. */
export function isSolanaWallet(wallet: Wallet): wallet is SolanaWallet {
  return wallet.kind === SOLANA_WALLET_KIND && 'keypair' in wallet && 'connection' in wallet;
}
