import type { TokenBalance } from '@solana/web3.js';
import type { PaymentRequirements, SettlementCheck, Wallet } from '../../src/index';
import { isSolanaWallet } from './wallet';

/**
 * Checks on chain that `reference` (a transaction signature a server reported as the settlement) landed without
 * error and moved exactly the offer's amount of its mint from this wallet's token account to one owned by the
 * offer's `payTo` (from the transaction's pre/post token balances) and, given the `message` this wallet signed,
 * that it is that very transaction (not an earlier transfer of the same amount to the same payee). Undefined
 * when the chain could not be read (the receipt is then reported unchecked).
 *
 * @example const check = await confirmSolanaTransfer({ offer, reference: settle.transaction }, wallet);
 */
export async function confirmSolanaTransfer(
  p: { offer: PaymentRequirements; reference: string; message?: Uint8Array },
  wallet: Wallet,
): Promise<SettlementCheck | undefined> {
  if (!isSolanaWallet(wallet)) return undefined;
  const { offer, reference } = p;
  if (!/^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(reference))
    return {
      status: 'refuted',
      reason: 'not_found',
      message: `${reference.slice(0, 90)} is not a transaction signature.`,
    };
  let landed;
  try {
    landed = await wallet.connection.getTransaction(reference, {
      commitment: 'confirmed',
      maxSupportedTransactionVersion: 0,
    });
  } catch {
    return undefined;
  }
  if (!landed) return { status: 'refuted', reason: 'not_found', message: `transaction ${reference} is not on chain.` };
  if (!landed.meta) return undefined;
  if (landed.meta.err !== null)
    return { status: 'refuted', reason: 'failed', message: `transaction ${reference} failed.` };
  // An earlier transfer of the same amount to the same payee is not this payment: compare the messages.
  if (p.message !== undefined && !Buffer.from(landed.transaction.message.serialize()).equals(Buffer.from(p.message))) {
    return {
      status: 'refuted',
      reason: 'transfer_mismatch',
      message: `transaction ${reference} is not the transaction this wallet signed for this offer.`,
    };
  }
  const change = (owner: string) =>
    balanceOf(landed.meta?.postTokenBalances, offer.asset, owner) -
    balanceOf(landed.meta?.preTokenBalances, offer.asset, owner);
  const amount = BigInt(offer.amount);
  if (change(offer.payTo) !== amount || change(wallet.publicKey.toBase58()) !== -amount) {
    return {
      status: 'refuted',
      reason: 'transfer_mismatch',
      message: `transaction ${reference} did not move ${offer.amount} of ${offer.asset} from ${wallet.publicKey.toBase58()} to ${offer.payTo}.`,
    };
  }
  return { status: 'confirmed' };
}

/** The sum of `owner`'s balances of `mint` in a transaction's token balance list. */
function balanceOf(balances: TokenBalance[] | null | undefined, mint: string, owner: string): bigint {
  let sum = 0n;
  for (const b of balances ?? []) if (b.mint === mint && b.owner === owner) sum += BigInt(b.uiTokenAmount.amount);
  return sum;
}
