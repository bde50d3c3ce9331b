import {
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  getAddress,
  parseEventLogs,
  type Address,
  type Hash,
} from 'viem';
import { exactTokenAbi } from './abi';
import { read, type EvmSettler } from './chain';

/** What became of a settlement transaction on record. */
export type TransferState = 'landed' | 'in_flight' | 'unknown';

/**
 * Looks up a settlement transaction on record (the reference of a payment left pending) and tells whether it
 * moved exactly `value` of `token` from `from` to `to` (`landed`), is known to the node but not mined yet
 * (`in_flight`), or is neither (`unknown`: dropped, reverted, or another transaction such as a permit).
 *
 * @example if ((await transferState(p, ref, token, owner, payTo, value)) === 'landed') return settled(ref);
 */
export async function transferState(
  rail: string,
  settler: EvmSettler,
  hash: string,
  transfer: { token: Address; from: Address; to: Address; value: bigint },
): Promise<TransferState> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) return 'unknown';
  const receipt = await read(rail, 'settlement receipt', () =>
    settler.publicClient.getTransactionReceipt({ hash: hash as Hash }).catch(notFound(TransactionReceiptNotFoundError)),
  );
  if (!receipt) {
    const pending = await read(rail, 'settlement transaction', () =>
      settler.publicClient.getTransaction({ hash: hash as Hash }).catch(notFound(TransactionNotFoundError)),
    );
    return pending ? 'in_flight' : 'unknown';
  }
  if (receipt.status !== 'success') return 'unknown';
  const moved = parseEventLogs({ abi: exactTokenAbi, eventName: 'Transfer', logs: receipt.logs }).some(
    (log) =>
      getAddress(log.address) === getAddress(transfer.token) &&
      getAddress(log.args.from) === getAddress(transfer.from) &&
      getAddress(log.args.to) === getAddress(transfer.to) &&
      log.args.value === transfer.value,
  );
  return moved ? 'landed' : 'unknown';
}

/** "Not found" is an answer (undefined); any other failure is the RPC's and propagates. */
function notFound(kind: new (...args: never[]) => Error): (error: unknown) => undefined {
  return (error) => {
    if (error instanceof kind) return undefined;
    throw error;
  };
}
