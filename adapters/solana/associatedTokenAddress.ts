import type { PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync } from '@solana/spl-token';

const MAX_ENTRIES = 4096;
const memo = new Map<string, PublicKey>();

/**
 * The associated token account of `owner` for `mint` under `tokenProgram` (off-curve owners allowed),
 * memoized: the PDA search costs about a millisecond and a server derives the same few addresses for
 * every payment.
 *
 * @example associatedTokenAddress(mint, payTo, TOKEN_PROGRAM_ID)
 */
export function associatedTokenAddress(mint: PublicKey, owner: PublicKey, tokenProgram: PublicKey): PublicKey {
  const key = `${mint.toBase58()}:${owner.toBase58()}:${tokenProgram.toBase58()}`;
  let ata = memo.get(key);
  if (!ata) {
    ata = getAssociatedTokenAddressSync(mint, owner, true, tokenProgram);
    if (memo.size >= MAX_ENTRIES) memo.clear();
    memo.set(key, ata);
  }
  return ata;
}
