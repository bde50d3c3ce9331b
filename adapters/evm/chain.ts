import {
  BaseError,
  ContractFunctionRevertedError,
  RpcRequestError,
  MethodNotFoundRpcError,
  MethodNotSupportedRpcError,
  UnsupportedProviderMethodError,
  HttpRequestError,
  TimeoutError,
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
export function createSubmitQueue(): SubmitQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** A queue that runs submissions one after another. */
export type SubmitQueue = <T>(task: () => Promise<T>) => Promise<T>;

const queuesByAccount = new Map<string, SubmitQueue>();

/**
 * The one submit queue of a gas account in this process, shared by every rail that settles with it (EIP-3009,
 * EIP-2612, metering, refunds), so their transactions never race for the account's nonce.
 *
 * @example const queue = submitQueueFor(walletClient.account.address);
 */
export function submitQueueFor(address: string): SubmitQueue {
  const key = address.toLowerCase();
  let queue = queuesByAccount.get(key);
  if (!queue) queuesByAccount.set(key, (queue = createSubmitQueue()));
  return queue;
}

/** The revert name of a failed contract call, when the node said it. */
export function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError)
    return reverted.data?.errorName ?? reverted.reason ?? 'reverted';
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
 * The transaction is signed first (by a local gas account, or by the node with `eth_signTransaction`), so
 * its hash is known before it is sent: a send whose answer is lost (timeout, reset, 5xx) is `pending` with
 * that hash (and on record through `onBroadcast`) rather than "nothing was paid" — the node may well have
 * taken it. Only a refused connection or the node's own refusal counts as not broadcast. A node that cannot
 * sign without sending gets `eth_sendTransaction`, whose lost answer leaves no hash: RailUnavailableError
 * that says the outcome is unknown (use a local gas account there).
 */
export async function submitAndWait(
  rail: string,
  settler: EvmSettler,
  queue: SubmitQueue,
  prepare: () => Promise<ContractCall>,
  onBroadcast?: (reference: string) => Promise<void>,
): Promise<{ status: 'mined'; hash: Hash } | Extract<SettleResult, { status: 'failed' | 'pending' }>> {
  const record = (hash: Hash) => onBroadcast?.(hash).catch(() => undefined);
  let hash: Hash;
  try {
    hash = await queue(async () => {
      const call = await prepare();
      const signed = await signFirst(settler, call);
      try {
        if (!signed)
          return await settler.walletClient.sendTransaction({
            ...call,
            account: settler.walletClient.account,
            chain: settler.walletClient.chain ?? null,
          });
        await settler.walletClient.sendRawTransaction({ serializedTransaction: signed.serialized });
        return signed.hash;
      } catch (cause) {
        if (notBroadcast(cause) || revertName(cause)) throw cause;
        throw new AmbiguousSendError(signed?.hash, cause);
      }
    });
  } catch (cause) {
    if (cause instanceof AmbiguousSendError && cause.hash !== undefined) {
      await record(cause.hash);
      return {
        status: 'pending',
        reference: cause.hash,
        message: `Settlement ${cause.hash} was sent but the node's answer was lost; it may have landed.`,
      };
    }
    const reason = revertName(cause);
    if (reason)
      return {
        status: 'failed',
        reason: 'settlement_reverted',
        message: `The token refused the transfer (${reason}); nothing was paid.`,
      };
    if (cause instanceof AmbiguousSendError && cause.hash === undefined) {
      throw new RailUnavailableError(
        "The EVM node's answer to the settlement transaction was lost; it may have been paid. Use a local gas account so such a send stays pending.",
        { cause: cause.cause, rail, status: 502 },
      );
    }
    throw new RailUnavailableError(
      'The EVM RPC did not take the settlement transaction; nothing was paid. Try again shortly.',
      { cause, rail },
    );
  }
  // Record the intent before waiting; a failing record must not lose the settlement itself.
  await record(hash);
  try {
    const receipt = await settler.publicClient.waitForTransactionReceipt({
      hash,
      timeout: settler.confirmTimeoutMs ?? 30_000,
      pollingInterval: settler.pollingIntervalMs ?? 250,
    });
    if (receipt.status !== 'success')
      return {
        status: 'failed',
        reason: 'settlement_reverted',
        message: 'The settlement transaction reverted; nothing was paid.',
        reference: hash,
      };
    return { status: 'mined', hash };
  } catch {
    return {
      status: 'pending',
      reference: hash,
      message: `Settlement ${hash} was broadcast but not confirmed in time.`,
    };
  }
}

/** A send whose answer was lost: the transaction (`hash`, when it was signed first) may have been broadcast. */
class AmbiguousSendError extends Error {
  constructor(
    readonly hash: Hash | undefined,
    cause: unknown,
  ) {
    super(`The answer to sending ${hash ?? 'the settlement transaction'} was lost.`, { cause });
  }
}

/**
 * The call signed before it is sent, and its hash: by a local gas account, or by the node for an account it
 * holds (`eth_signTransaction`). Undefined when the node cannot sign without sending.
 */
async function signFirst(
  settler: EvmSettler,
  call: ContractCall,
): Promise<{ serialized: Hex; hash: Hash } | undefined> {
  const { walletClient } = settler;
  const account = walletClient.account;
  const chain = walletClient.chain ?? null;
  const request = await walletClient.prepareTransactionRequest({ ...call, account, chain });
  let serialized: Hex;
  try {
    serialized = await walletClient.signTransaction({ ...request, account, chain });
  } catch (error) {
    if (account.type !== 'local' && unsupportedMethod(error)) return undefined;
    throw error;
  }
  return { serialized, hash: keccak256(serialized) };
}

/** True when the node said it does not offer the method called. */
function unsupportedMethod(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  return (
    error.walk(
      (e) =>
        e instanceof MethodNotFoundRpcError ||
        e instanceof MethodNotSupportedRpcError ||
        e instanceof UnsupportedProviderMethodError,
    ) !== null
  );
}

/** True when a failed send certainly did not broadcast: the connection was refused, or the node itself refused it. */
function notBroadcast(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  if (error.walk((e) => e instanceof RpcRequestError) instanceof RpcRequestError)
    return !/already known|known transaction/i.test(error.message);
  return error.walk((e) => typeof e === 'object' && e !== null && 'code' in e && e.code === 'ECONNREFUSED') !== null;
}

/**
 * True when a failed call never got the node's answer (the HTTP request failed or timed out): an infrastructure
 * fault, unlike a revert or an empty answer, which is the contract's own "no".
 *
 * @example if (rpcUnreachable(error)) throw new RailUnavailableError('…', { cause: error, rail });
 */
export function rpcUnreachable(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  return error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null;
}
