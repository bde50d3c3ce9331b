import { TransactionReceiptNotFoundError, isAddress, isAddressEqual, isHash, parseEventLogs } from 'viem';
import type { PaymentRequirements, SettlementCheck, Wallet } from '../../src/index';
import { exactTokenAbi } from './abi';
import { isEvmWallet } from './wallet';

/**
 * Checks on chain that `reference` (a transaction hash a server reported as the settlement) succeeded and emitted
 * a `Transfer` of exactly the offer's amount (`atMost`: of at most the offer's maximum, x402 `upto`) of its token from
 * this wallet to the offer's `payTo`. Undefined when
 * the wallet has no public client or the chain could not be read (the receipt is then reported unchecked).
 *
 * @example const check = await confirmEvmTransfer({ offer, reference: settle.transaction }, wallet);
 */
export async function confirmEvmTransfer(
  p: { offer: PaymentRequirements; reference: string },
  wallet: Wallet,
  match: 'exact' | 'atMost' = 'exact',
): Promise<SettlementCheck | undefined> {
  if (!isEvmWallet(wallet) || !wallet.publicClient) return undefined;
  const { offer, reference } = p;
  if (!isHash(reference))
    return { status: 'refuted', reason: 'not_found', message: `${reference.slice(0, 80)} is not a transaction hash.` };
  const token = offer.asset;
  const payTo = offer.payTo;
  if (!isAddress(token, { strict: false }) || !isAddress(payTo, { strict: false })) {
    return { status: 'refuted', reason: 'transfer_mismatch', message: 'The offer names no token or payee address.' };
  }
  let receipt;
  try {
    receipt = await wallet.publicClient.getTransactionReceipt({ hash: reference });
  } catch (error) {
    if (error instanceof TransactionReceiptNotFoundError)
      return { status: 'refuted', reason: 'not_found', message: `transaction ${reference} is not on chain.` };
    return undefined;
  }
  if (receipt.status !== 'success')
    return { status: 'refuted', reason: 'failed', message: `transaction ${reference} reverted.` };
  const transfers = parseEventLogs({ abi: exactTokenAbi, eventName: 'Transfer', logs: receipt.logs });
  const paid = transfers.some(
    (log) =>
      isAddressEqual(log.address, token) &&
      isAddressEqual(log.args.from, wallet.address) &&
      isAddressEqual(log.args.to, payTo) &&
      (match === 'exact'
        ? log.args.value === BigInt(offer.amount)
        : log.args.value > 0n && log.args.value <= BigInt(offer.amount)),
  );
  if (!paid) {
    return {
      status: 'refuted',
      reason: 'transfer_mismatch',
      message: `transaction ${reference} holds no Transfer of ${offer.amount} ${offer.asset} from ${wallet.address} to ${offer.payTo}.`,
    };
  }
  return { status: 'confirmed' };
}
