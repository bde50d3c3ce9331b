import {
  ComputeBudgetProgram,
  PublicKey,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from '@solana/web3.js';
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { randomBytes, toHex } from '../../src/core/cryptoPrimitives';
import { DEFAULT_COMPUTE_UNIT_LIMIT, DEFAULT_COMPUTE_UNIT_PRICE, MEMO_PROGRAM_ID } from './constants';

/** Parameters of {@link buildExactTransaction}. */
export type BuildExactTransactionParameters = {
  /** Owner of the paying token account; the transfer authority and the only other signer. */
  payer: PublicKey;
  /** The server's (facilitator's) fee payer, from `extra.feePayer`. */
  feePayer: PublicKey;
  mint: PublicKey;
  /** Token or Token-2022, the mint account's owner. */
  tokenProgram: PublicKey;
  decimals: number;
  /** Owner of the receiving token account (`payTo`); the destination is its associated token account. */
  payTo: PublicKey;
  /** Atomic units. */
  amount: bigint;
  recentBlockhash: string;
  /** Memo text (`extra.memo`); a random 16-byte hex nonce when omitted, as the official client does. */
  memo?: string;
  /** Default {@link DEFAULT_COMPUTE_UNIT_LIMIT}. */
  computeUnitLimit?: number;
  /** Micro-lamports per compute unit; default {@link DEFAULT_COMPUTE_UNIT_PRICE}. */
  computeUnitPrice?: bigint;
};

/**
 * Builds the unsigned v0 transaction of an x402 `exact` SVM payment, in the official layout:
 * `[SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked(payer ATA → payTo ATA), Memo]`, fee payer =
 * the server's. The memo makes every payment's transaction (and so its signatures) unique.
 *
 * @example
 * const tx = buildExactTransaction({ payer, feePayer, mint, tokenProgram, decimals: 6, payTo, amount: 10_000n, recentBlockhash });
 * tx.sign([payerKeypair]); // partial: the fee payer signs at settlement
 */
export function buildExactTransaction(p: BuildExactTransactionParameters): VersionedTransaction {
  const source = getAssociatedTokenAddressSync(p.mint, p.payer, true, p.tokenProgram);
  const destination = getAssociatedTokenAddressSync(p.mint, p.payTo, true, p.tokenProgram);
  const memo = p.memo ?? toHex(randomBytes(16));
  const instructions = [
    ComputeBudgetProgram.setComputeUnitLimit({ units: p.computeUnitLimit ?? DEFAULT_COMPUTE_UNIT_LIMIT }),
    ComputeBudgetProgram.setComputeUnitPrice({ microLamports: p.computeUnitPrice ?? DEFAULT_COMPUTE_UNIT_PRICE }),
    createTransferCheckedInstruction(source, p.mint, destination, p.payer, p.amount, p.decimals, [], p.tokenProgram),
    new TransactionInstruction({ programId: MEMO_PROGRAM_ID, keys: [], data: Buffer.from(memo, 'utf8') }),
  ];
  const message = new TransactionMessage({
    payerKey: p.feePayer,
    recentBlockhash: p.recentBlockhash,
    instructions,
  }).compileToV0Message();
  return new VersionedTransaction(message);
}
