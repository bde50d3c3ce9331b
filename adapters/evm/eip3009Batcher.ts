/**
 * Batched EIP-3009 settlement (opt-in per rail, `evmEip3009Server({ batch })`): settlements that arrive within a
 * short window (`windowMs`, or as soon as `maxSize` are waiting) go out as ONE transaction through a batch-call
 * contract with Multicall3's `aggregate3`, each `transferWithAuthorization` allowed to fail on its own.
 *
 * - Before sending, the batch is simulated once (`eth_call` of `aggregate3`): an authorization the token would
 *   refuse (used or canceled nonce, expired, bad signature, short balance) is answered `failed` with its reason and
 *   left out, without gas; the rest go in one transaction (still allow-failure, in case one is used elsewhere
 *   between the simulation and the block).
 * - Each payment's outcome is read back from that transaction's receipt exactly: it is settled if and only if the
 *   token logged `AuthorizationUsed(from, nonce)` in it; otherwise it failed, and nothing of it moved.
 * - Crash safety is the single settlement's: every payment's intent is recorded with the batch hash
 *   (`onBroadcast`) before the receipt is awaited, and `findSettlement` finds a batched payment by the same
 *   `AuthorizationUsed` log (the batch transaction is its reference). Nonce, send and receipt go through the
 *   pipelined path of `submitAndWait`, shared with the account's single settlements.
 *
 * Latency trade-off: a payment waits up to `windowMs` for companions before its transaction is sent (none when
 * `maxSize` fill first), and its receipt is the batch's; in exchange the chain sees one transaction per batch
 * (one nonce, one base cost of 21,000 gas, one receipt to watch) instead of one per payment.
 */
import {
  decodeErrorResult,
  encodeFunctionData,
  parseAbi,
  parseEventLogs,
  type Address,
  type Hash,
  type Hex,
} from 'viem';
import type { SettleResult } from '../../src/index';
import { exactTokenAbi } from './abi';
import { batchCallAbi } from './batchCallAbi';
import { read, submitAndWait, type EvmSettler, type SubmitQueue } from './chain';

/** Options of batched settlement. */
export type Eip3009BatchParameters = {
  /** Address of a contract with Multicall3's `aggregate3` (the devnet installs one at `MULTICALL3_ADDRESS`). */
  multicall: Address;
  /** A batch is sent as soon as this many settlements wait (default 32). */
  maxSize?: number;
  /** How long the first settlement of a batch waits for others, ms (default 5). */
  windowMs?: number;
};

/** The arguments of one `transferWithAuthorization` call. */
export type TransferWithAuthorizationArgs = readonly [
  from: Address,
  to: Address,
  value: bigint,
  validAfter: bigint,
  validBefore: bigint,
  nonce: Hex,
  v: number,
  r: Hex,
  s: Hex,
];

/** How one batched settlement ended: mined in the batch `hash`, or failed / pending like a single settlement. */
export type BatchedOutcome = { status: 'mined'; hash: Hash } | Extract<SettleResult, { status: 'failed' | 'pending' }>;

/** Settles EIP-3009 authorizations in batches; see the module comment. */
export type Eip3009Batcher = {
  settle(
    args: TransferWithAuthorizationArgs,
    onBroadcast?: (reference: string) => Promise<void>,
  ): Promise<BatchedOutcome>;
};

type Waiting = {
  args: TransferWithAuthorizationArgs;
  onBroadcast: ((reference: string) => Promise<void>) | undefined;
  resolve: (outcome: BatchedOutcome) => void;
  reject: (error: unknown) => void;
};

/**
 * A batcher for one token and gas account.
 *
 * @example const batcher = createEip3009Batcher('evm-eip3009', settler, token, queue, { multicall: MULTICALL3_ADDRESS });
 */
export function createEip3009Batcher(
  rail: string,
  settler: EvmSettler,
  token: Address,
  queue: SubmitQueue,
  options: Eip3009BatchParameters,
): Eip3009Batcher {
  const maxSize = Math.max(1, options.maxSize ?? 32);
  const windowMs = Math.max(0, options.windowMs ?? 5);
  let waiting: Waiting[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = waiting;
    waiting = [];
    if (batch.length > 0)
      settleBatch(rail, settler, token, queue, options.multicall, batch).catch((error: unknown) => {
        for (const one of batch) one.reject(error);
      });
  };

  return {
    settle(args, onBroadcast) {
      return new Promise<BatchedOutcome>((resolve, reject) => {
        waiting.push({ args, onBroadcast, resolve, reject });
        if (waiting.length >= maxSize) flush();
        else if (timer === undefined) timer = setTimeout(flush, windowMs);
      });
    },
  };
}

async function settleBatch(
  rail: string,
  settler: EvmSettler,
  token: Address,
  queue: SubmitQueue,
  multicall: Address,
  batch: Waiting[],
): Promise<void> {
  const callOf = (one: Waiting) => ({
    target: token,
    allowFailure: true,
    callData: encodeFunctionData({ abi: exactTokenAbi, functionName: 'transferWithAuthorization', args: one.args }),
  });
  // One simulation of the whole batch: those the token would refuse now are answered without gas.
  const simulated = await read(rail, 'the batch simulation', () =>
    settler.publicClient.simulateContract({
      address: multicall,
      abi: batchCallAbi,
      functionName: 'aggregate3',
      args: [batch.map(callOf)],
      account: settler.walletClient.account,
    }),
  );
  const good: Waiting[] = [];
  batch.forEach((one, i) => {
    const result = simulated.result[i];
    if (result?.success) good.push(one);
    else one.resolve(refusal(result?.returnData));
  });
  if (good.length === 0) return;

  const outcome = await submitAndWait(
    rail,
    settler,
    queue,
    async () => ({
      to: multicall,
      data: encodeFunctionData({ abi: batchCallAbi, functionName: 'aggregate3', args: [good.map(callOf)] }),
    }),
    async (hash) => {
      await Promise.all(good.map((one) => one.onBroadcast?.(hash)));
    },
  );
  if (outcome.status !== 'mined') {
    for (const one of good) one.resolve(outcome);
    return;
  }
  // Exactly the authorizations the token logged as used in this transaction were paid.
  const used = new Set(
    parseEventLogs({ abi: exactTokenAbi, eventName: 'AuthorizationUsed', logs: outcome.receipt.logs })
      .filter((log) => log.address.toLowerCase() === token.toLowerCase())
      .map((log) => `${log.args.authorizer.toLowerCase()}:${log.args.nonce.toLowerCase()}`),
  );
  for (const one of good) {
    const [from, , , , , nonce] = one.args;
    if (used.has(`${from.toLowerCase()}:${nonce.toLowerCase()}`)) one.resolve({ status: 'mined', hash: outcome.hash });
    else
      one.resolve({
        status: 'failed',
        reason: 'settlement_reverted',
        message: `The token refused this authorization inside batch ${outcome.hash}; nothing of it was paid.`,
        reference: outcome.hash,
      });
  }
}

/** Revert shapes of EIP-3009 tokens: RailsToken's custom errors and FiatToken's (USDC) `Error(string)`. */
const tokenErrorsAbi = parseAbi([
  'error InvalidSignature()',
  'error AuthorizationNotYetValid(uint256 validAfter)',
  'error AuthorizationExpired(uint256 validBefore)',
  'error AuthorizationUsedOrCanceled(address authorizer, bytes32 nonce)',
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error Error(string message)',
]);

/** A failed settlement with the reason the token gave for refusing one authorization of the batch. */
function refusal(returnData: Hex | undefined): BatchedOutcome {
  let said = 'reverted';
  try {
    if (returnData && returnData !== '0x') {
      const decoded = decodeErrorResult({ abi: tokenErrorsAbi, data: returnData });
      said = decoded.errorName === 'Error' ? String(decoded.args[0]) : decoded.errorName;
    }
  } catch {
    // an unknown revert shape keeps the generic reason
  }
  const reason = /used|cancel/i.test(said)
    ? 'nonce_used'
    : /expired/i.test(said)
      ? 'expired'
      : /not ?yet ?valid/i.test(said)
        ? 'not_yet_valid'
        : /signature/i.test(said)
          ? 'invalid_signature'
          : /balance/i.test(said)
            ? 'insufficient_funds'
            : 'settlement_reverted';
  return { status: 'failed', reason, message: `The token refused the transfer (${said}); nothing was paid.` };
}
