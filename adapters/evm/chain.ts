import {
  BaseError,
  ContractFunctionRevertedError,
  RpcRequestError,
  HttpRequestError,
  TimeoutError,
  ExecutionRevertedError,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import { RailUnavailableError, type SettleResult } from '../../src/index';
import { prepareCall, resyncGasAccount, signNext, staleNonceOrFee } from './gasAccount';
import { receiptWatcherFor } from './receiptWatcher';

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

/** How many times a settlement whose transaction was replaced (its nonce taken by another) is sent again. */
const MAX_RESENDS = 2;

/**
 * Submits one contract call and waits for its receipt, pipelined: `prepare` (which should simulate, so a payment
 * that would revert is refused without gas) and gas estimation run outside the account's queue, concurrently with
 * other settlements; the queue holds only "next local nonce, sign, send" (`gasAccount.ts`); the receipt comes from
 * the one watcher of the node (`receiptWatcher.ts`), never from a poll of this settlement's own. Outcomes:
 * settled-ready tx hash, `failed` for a revert, `pending` when the transaction was (or may have been) broadcast but
 * not confirmed in time; RailUnavailableError when nothing was broadcast.
 *
 * The transaction is signed first (by a local gas account, or by the node with `eth_signTransaction`), so
 * its hash is known before it is sent: a send whose answer is lost (timeout, reset, 5xx) is `pending` with
 * that hash (and on record through `onBroadcast`) rather than "nothing was paid" — the node may well have
 * taken it. Only a refused connection or the node's own refusal counts as not broadcast. A node that cannot
 * sign without sending gets `eth_sendTransaction`, whose lost answer leaves no hash: RailUnavailableError
 * that says the outcome is unknown (use a local gas account there).
 *
 * A transaction dropped from the node's pool is rebroadcast from its signed bytes (same hash). One whose nonce was
 * taken by another transaction (replaced) can never be mined: the call is prepared, signed and sent again with a
 * fresh nonce (each hash goes on record through `onBroadcast`), so a later settlement never waits behind a gap.
 */
export async function submitAndWait(
  rail: string,
  settler: EvmSettler,
  queue: SubmitQueue,
  prepare: () => Promise<ContractCall>,
  onBroadcast?: (reference: string) => Promise<void>,
): Promise<
  { status: 'mined'; hash: Hash; receipt: TransactionReceipt } | Extract<SettleResult, { status: 'failed' | 'pending' }>
> {
  const record = (hash: Hash) => onBroadcast?.(hash).catch(() => undefined);
  const watcher = receiptWatcherFor(settler.publicClient, settler.pollingIntervalMs ?? 250);
  for (let attempt = 0; ; attempt++) {
    const sent = await sendPipelined(rail, settler, queue, prepare);
    if (sent.status !== 'sent') {
      if (sent.status === 'pending' && sent.reference) await record(sent.reference as Hash);
      return sent;
    }
    // Record the intent before waiting; a failing record must not lose the settlement itself.
    await record(sent.hash);
    const outcome = await watcher.wait(
      {
        hash: sent.hash,
        from: settler.walletClient.account.address,
        ...(sent.nonce !== undefined ? { nonce: sent.nonce } : {}),
        ...(sent.serialized ? { serialized: sent.serialized } : {}),
      },
      settler.confirmTimeoutMs ?? 30_000,
    );
    if (outcome.status === 'receipt') {
      if (outcome.receipt.status !== 'success')
        return {
          status: 'failed',
          reason: 'settlement_reverted',
          message: 'The settlement transaction reverted; nothing was paid.',
          reference: sent.hash,
        };
      return { status: 'mined', hash: sent.hash, receipt: outcome.receipt };
    }
    if (outcome.status === 'replaced' && attempt < MAX_RESENDS) {
      resyncGasAccount(settler.walletClient);
      continue;
    }
    return {
      status: 'pending',
      reference: sent.hash,
      message:
        outcome.status === 'replaced'
          ? `Settlement ${sent.hash} was replaced by another transaction of the gas account.`
          : `Settlement ${sent.hash} was broadcast but not confirmed in time.`,
    };
  }
}

/** A transaction the node took: its hash, and (when signed here) its nonce and bytes for the watcher. */
type Sent = { status: 'sent'; hash: Hash; nonce?: number; serialized?: Hex };

/** Prepares `prepare()`'s call outside the queue, then takes a nonce, signs and sends it inside. */
async function sendPipelined(
  rail: string,
  settler: EvmSettler,
  queue: SubmitQueue,
  prepare: () => Promise<ContractCall>,
): Promise<Sent | Extract<SettleResult, { status: 'failed' | 'pending' }>> {
  const { publicClient, walletClient } = settler;
  const account = walletClient.account;
  try {
    let unsigned = await prepareCall(publicClient, walletClient, await prepare());
    return await queue(async (): Promise<Sent> => {
      for (let retry = 0; ; retry++) {
        const next = await signNext(publicClient, walletClient, unsigned);
        try {
          if (!next.signed) {
            const fees = 'gasPrice' in unsigned.fees ? { gasPrice: unsigned.fees.gasPrice } : unsigned.fees;
            const hash = await walletClient.sendTransaction({
              to: unsigned.to,
              data: unsigned.data,
              gas: unsigned.gas,
              nonce: next.nonce,
              ...fees,
              account,
              chain: walletClient.chain ?? null,
            });
            next.commit();
            return { status: 'sent', hash };
          }
          await walletClient.sendRawTransaction({ serializedTransaction: next.signed.serialized }).catch((e) => {
            if (!alreadyKnown(e)) throw e;
          });
          next.commit();
          return { status: 'sent', ...next.signed };
        } catch (cause) {
          if (staleNonceOrFee(cause) && retry < 3) {
            resyncGasAccount(walletClient);
            unsigned = await prepareCall(publicClient, walletClient, unsigned);
            continue;
          }
          if (notBroadcast(cause) || revertName(cause)) {
            resyncGasAccount(walletClient, true);
            throw cause;
          }
          // It may or may not have reached the node: read the nonce again rather than assume either (a wrong
          // guess would leave a gap that stalls every later settlement, or reuse a taken nonce).
          resyncGasAccount(walletClient, true);
          throw new AmbiguousSendError(next.signed?.hash, cause);
        }
      }
    });
  } catch (cause) {
    if (cause instanceof AmbiguousSendError && cause.hash !== undefined) {
      return {
        status: 'pending',
        reference: cause.hash,
        message: `Settlement ${cause.hash} was sent but the node's answer was lost; it may have landed.`,
      };
    }
    const reason = revertName(cause) ?? (executionReverted(cause) ? 'reverted' : undefined);
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

/** True when the node refused the send because it already holds that very transaction (so it was taken). */
function alreadyKnown(error: unknown): boolean {
  return error instanceof BaseError && /already known|known transaction/i.test(error.message + ' ' + error.details);
}

/** True when gas estimation found that the call reverts (a race with a simulation that passed). */
function executionReverted(error: unknown): boolean {
  return error instanceof BaseError && error.walk((e) => e instanceof ExecutionRevertedError) !== null;
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
