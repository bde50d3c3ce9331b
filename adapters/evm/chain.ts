import { BaseError, ContractFunctionRevertedError, type Account, type Chain, type Hash, type PublicClient, type Transport, type WalletClient } from 'viem';
import { RailUnavailableError, type SettleResult } from '../../src/index';

/** The settling side's chain access: reads, and a gas account that submits settlements. */
export type EvmSettler = {
  publicClient: PublicClient;
  /** Wallet client whose account pays gas and submits settlements (the server's or a facilitator's). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  /** How long to wait for a settlement's receipt before answering `pending` (default 30 s). */
  confirmTimeoutMs?: number;
  /** How often to poll for the receipt (default 250 ms; a devnet that mines at once can use a few ms). */
  pollingIntervalMs?: number;
};

/** Runs a chain read; RPC failures become RailUnavailableError (503). */
export async function read<T>(rail: string, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new RailUnavailableError(`The EVM RPC failed while reading ${what}. Try again shortly.`, { cause, rail });
  }
}

/** Serializes transaction submission per gas account so concurrent settlements never race for a nonce. */
export function createSubmitQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** The revert name of a failed contract call, when the node said it. */
export function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName ?? reverted.reason ?? 'reverted';
  return undefined;
}

/**
 * Submits one contract write through the queue (`send` should simulate first, so a payment that would
 * revert is refused without gas) and waits for its receipt. Outcomes: settled-ready tx hash, `failed` for a revert, `pending` when the
 * transaction was broadcast but not confirmed in time; RailUnavailableError when nothing was broadcast.
 */
export async function submitAndWait(
  rail: string,
  settler: EvmSettler,
  queue: ReturnType<typeof createSubmitQueue>,
  send: () => Promise<Hash>,
  onBroadcast?: (reference: string) => Promise<void>,
): Promise<{ status: 'mined'; hash: Hash } | Extract<SettleResult, { status: 'failed' | 'pending' }>> {
  let hash: Hash;
  try {
    hash = await queue(send);
  } catch (cause) {
    const reason = revertName(cause);
    if (reason) return { status: 'failed', reason: 'settlement_reverted', message: `The token refused the transfer (${reason}); nothing was paid.` };
    throw new RailUnavailableError('The EVM RPC did not take the settlement transaction; nothing was paid. Try again shortly.', { cause, rail });
  }
  // Record the intent before waiting; a failing record must not lose the settlement itself.
  await onBroadcast?.(hash).catch(() => undefined);
  try {
    const receipt = await settler.publicClient.waitForTransactionReceipt({ hash, timeout: settler.confirmTimeoutMs ?? 30_000, pollingInterval: settler.pollingIntervalMs ?? 250 });
    if (receipt.status !== 'success') return { status: 'failed', reason: 'settlement_reverted', message: 'The settlement transaction reverted; nothing was paid.', reference: hash };
    return { status: 'mined', hash };
  } catch {
    return { status: 'pending', reference: hash, message: `Settlement ${hash} was broadcast but not confirmed in time.` };
  }
}
