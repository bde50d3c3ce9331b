import {
  ConfigurationError,
  PaymentInvalidError,
  RailUnavailableError,
  defineClientRail,
  type ConfirmingClientRail,
  type PaymentRequirements,
  type Wallet,
} from '../../src/index';
import { buildExactTransaction } from './buildExactTransaction';
import { clusterNetworkOf } from './clusterNetwork';
import { confirmSolanaTransfer } from './confirmSolanaTransfer';
import { SOLANA_RAIL_ID, SOLANA_WALLET_KIND } from './constants';
import type { Connection } from '@solana/web3.js';
import { createMintCache, publicKeyOrUndefined } from './mintInfo';
import { encodePaymentTransaction } from './payload';
import { isSolanaNetwork, memoFits, memoOf } from './requirements';
import { isSolanaWallet, type SolanaWallet } from './wallet';

/**
 * The message each offer was paid with (by offer object, as `payingFetch` hands the same one to createPayment and
 * confirmSettlement), so a settlement a server reports is checked to be this payment's own transaction.
 */
const paidMessages = new WeakMap<PaymentRequirements, Uint8Array>();

/** Mint facts per connection: a mint's program and decimals never change. */
const mintCaches = new WeakMap<Connection, ReturnType<typeof createMintCache>>();
function mintCacheOf(connection: Connection): ReturnType<typeof createMintCache> {
  let cache = mintCaches.get(connection);
  if (!cache) {
    cache = createMintCache(connection);
    mintCaches.set(connection, cache);
  }
  return cache;
}

function walletOf(wallet: Wallet): SolanaWallet {
  if (!isSolanaWallet(wallet)) throw new ConfigurationError('The Solana rail needs a wallet made by solanaWallet().');
  return wallet;
}

function keysOf(req: PaymentRequirements) {
  const feePayer = publicKeyOrUndefined(req.extra.feePayer);
  const mint = publicKeyOrUndefined(req.asset);
  const payTo = publicKeyOrUndefined(req.payTo);
  if (!feePayer || !mint || !payTo) {
    throw new PaymentInvalidError(
      'invalid_requirements',
      'A Solana exact offer needs base58 keys in asset (mint), payTo and extra.feePayer.',
    );
  }
  return { feePayer, mint, payTo };
}

/**
 * Client rail for x402 `exact` on Solana, wire-identical to the official SVM client: checks that the wallet's
 * connection reaches the offer's cluster (genesis hash, asked once per connection), reads the mint
 * (Token or Token-2022, decimals) and a recent blockhash through the wallet's connection, builds a v0
 * transaction `[SetComputeUnitLimit(20 000), SetComputeUnitPrice(1 µlamport), TransferChecked, Memo]`
 * with the server's `extra.feePayer` as fee payer, signs it as transfer authority only and answers
 * `{ transaction: <base64> }`. The memo is `extra.memo`, or a random nonce.
 *
 * @example payingFetch(fetch, { adapters: [solanaExactClient()], wallets: [solanaWallet(keypair, { connection })] })
 */
export function solanaExactClient(): ConfirmingClientRail {
  return defineClientRail({
    id: SOLANA_RAIL_ID,
    walletKind: SOLANA_WALLET_KIND,
    supports: (req) => req.scheme === 'exact' && isSolanaNetwork(req.network) && typeof req.extra.feePayer === 'string',
    confirmSettlement: (p, wallet) => {
      const message = paidMessages.get(p.offer);
      return confirmSolanaTransfer(message === undefined ? p : { ...p, message }, wallet);
    },
    async createPayment(req, w) {
      const wallet = walletOf(w);
      const { feePayer, mint, payTo } = keysOf(req);
      // A transaction names no cluster: it lands wherever its blockhash is known. Sign only for the offer's.
      const cluster = await clusterNetworkOf(wallet.connection);
      if (cluster !== req.network) {
        throw new PaymentInvalidError(
          'network_mismatch',
          `The offer is on ${req.network} but this wallet's connection reaches ${cluster}; refusing to sign a payment for another cluster.`,
        );
      }
      if (feePayer.equals(wallet.publicKey))
        throw new PaymentInvalidError(
          'invalid_requirements',
          'The offer names this wallet as fee payer; refusing to pay.',
        );
      const memo = memoOf(req);
      if (memo !== undefined && !memoFits(memo))
        throw new PaymentInvalidError('invalid_requirements', 'extra.memo is longer than a payment memo may be.');
      const info = await mintCacheOf(wallet.connection).get(mint);
      let recentBlockhash: string;
      try {
        ({ blockhash: recentBlockhash } = await wallet.connection.getLatestBlockhash());
      } catch (cause) {
        throw new RailUnavailableError('The Solana RPC did not give a recent blockhash. Try again shortly.', {
          cause,
          rail: SOLANA_RAIL_ID,
        });
      }
      const tx = buildExactTransaction({
        payer: wallet.publicKey,
        feePayer,
        mint,
        tokenProgram: info.programId,
        decimals: info.decimals,
        payTo,
        amount: BigInt(req.amount),
        recentBlockhash,
        ...(memo === undefined ? {} : { memo }),
      });
      tx.sign([wallet.keypair]);
      paidMessages.set(req, tx.message.serialize());
      return encodePaymentTransaction(tx);
    },
  });
}
