import {
  BaseError,
  ContractFunctionRevertedError,
  RpcRequestError,
  keccak256,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
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

/** One contract call to submit: the token and the encoded call data. */
export type ContractCall = { to: Address; data: Hex };

/**
 * Submits one contract call through the queue (`prepare` should simulate first, so a payment that would
 * revert is refused without gas) and waits for its receipt. Outcomes: settled-ready tx hash, `failed` for a
 * revert, `pending` when the transaction was (or may have been) broadcast but not confirmed in time;
 * RailUnavailableError when nothing was broadcast.
 *
 * With a local gas account the transaction is signed here first, so its hash is known before it is sent: a
 * send whose answer is lost (timeout, reset, 5xx) is `pending` with that hash (and on record through
 * `onBroadcast`) rather than "nothing was paid" — the node may well have taken it. Only a refused
 * connection or the node's own refusal counts as not broadcast. (A node-held account signs on the node, so
 * a lost answer leaves no hash: it is RailUnavailableError, and the payment's retry finds a landed transfer
 * through the rail's own idempotence.)
 */
export async function submitAndWait(
  rail: string,
  settler: EvmSettler,
  queue: ReturnType<typeof createSubmitQueue>,
  prepare: () => Promise<ContractCall>,
  onBroadcast?: (reference: string) => Promise<void>,
): Promise<{ status: 'mined'; hash: Hash } | Extract<SettleResult, { status: 'failed' | 'pending' }>> {
  const record = (hash: Hash) => onBroadcast?.(hash).catch(() => undefined);
  let hash: Hash;
  try {
    hash = await queue(async () => {
      const call = await prepare();
      const signed = await signLocally(settler, call);
      if (!signed) return settler.walletClient.sendTransaction({ ...call, account: settler.walletClient.account, chain: settler.walletClient.chain ?? null });
      try {
        await settler.walletClient.sendRawTransaction({ serializedTransaction: signed.serialized });
      } catch (cause) {
        if (notBroadcast(cause)) throw cause;
        throw new AmbiguousSendError(signed.hash, cause);
      }
      return signed.hash;
    });
  } catch (cause) {
    if (cause instanceof AmbiguousSendError) {
      await record(cause.hash);
      return { status: 'pending', reference: cause.hash, message: `Settlement ${cause.hash} was sent but the node's answer was lost; it may have landed.` };
    }
    const reason = revertName(cause);
    if (reason) return { status: 'failed', reason: 'settlement_reverted', message: `The token refused the transfer (${reason}); nothing was paid.` };
    throw new RailUnavailableError('The EVM RPC did not take the settlement transaction; nothing was paid. Try again shortly.', { cause, rail });
  }
  // Record the intent before waiting; a failing record must not lose the settlement itself.
  await record(hash);
  try {
    const receipt = await settler.publicClient.waitForTransactionReceipt({ hash, timeout: settler.confirmTimeoutMs ?? 30_000, pollingInterval: settler.pollingIntervalMs ?? 250 });
    if (receipt.status !== 'success') return { status: 'failed', reason: 'settlement_reverted', message: 'The settlement transaction reverted; nothing was paid.', reference: hash };
    return { status: 'mined', hash };
  } catch {
    return { status: 'pending', reference: hash, message: `Settlement ${hash} was broadcast but not confirmed in time.` };
  }
}

/** A send whose answer was lost: the transaction `hash` may have been broadcast. */
class AmbiguousSendError extends Error {
  constructor(
    readonly hash: Hash,
    cause: unknown,
  ) {
    super(`The answer to sending ${hash} was lost.`, { cause });
  }
}

/** The call signed by a local gas account and its hash; undefined for a node-held (JSON-RPC) account. */
async function signLocally(settler: EvmSettler, call: ContractCall): Promise<{ serialized: Hex; hash: Hash } | undefined> {
  const { walletClient } = settler;
  const account = walletClient.account;
  if (account.type !== 'local') return undefined;
  const request = await walletClient.prepareTransactionRequest({ ...call, account, chain: walletClient.chain ?? null });
  const serialized = await walletClient.signTransaction({ ...request, account, chain: walletClient.chain ?? null });
  return { serialized, hash: keccak256(serialized) };
}

/** True when a failed send certainly did not broadcast: the connection was refused, or the node itself refused it. */
function notBroadcast(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  if (error.walk((e) => e instanceof RpcRequestError) instanceof RpcRequestError) return !/already known|known transaction/i.test(error.message);
  return error.walk((e) => typeof e === 'object' && e !== null && 'code' in e && e.code === 'ECONNREFUSED') !== null;
}
