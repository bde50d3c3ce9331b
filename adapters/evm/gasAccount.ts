/**
 * The gas account's side of pipelined settlement: a nonce kept in this process, fees read at most once a second,
 * and signing without a round trip, so the only step that settlements of one account take in turn is "take the
 * next nonce, sign, send" (one RPC call). Simulation and gas estimation run before it, concurrently; receipts are
 * awaited after it, by one watcher for all transactions in flight (`receiptWatcher.ts`).
 *
 * The nonce is read from the node (`pending`) when first needed and again after any send the node refused for its
 * nonce or fee (another process used the account, a transaction was replaced or dropped): the refused transaction
 * is signed again with the fresh nonce, so a stale local count costs one retry, never a stuck settlement.
 */
import {
  BaseError,
  MethodNotFoundRpcError,
  MethodNotSupportedRpcError,
  UnsupportedProviderMethodError,
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

/** A transaction ready to be signed, apart from its nonce. */
export type UnsignedCall = {
  to: Address;
  data: Hex;
  gas: bigint;
  fees: FeeFields;
};

/** EIP-1559 fees, or a legacy gas price on a chain without them. */
export type FeeFields = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };

/** A transaction signed for one nonce: the bytes to (re)broadcast and their hash. */
export type SignedCall = { nonce: number; serialized: Hex; hash: Hash };

type WalletOf = WalletClient<Transport, Chain | undefined, Account>;

/** What this process knows of one gas account on one node. */
type AccountState = {
  /** The next nonce to use; undefined until read (again) from the node. */
  next: number | undefined;
  fees: { at: number; value: Promise<FeeFields> } | undefined;
  chainId: Promise<number> | undefined;
};

const states = new Map<string, AccountState>();

/** Fees are read again after this long (ms). */
const FEE_TTL_MS = 1_000;

/**
 * The state of `walletClient`'s account on its node. Keyed by node URL as well as address, so two devnets in one
 * process (same dev keys, different ports) never share a nonce.
 */
function stateOf(walletClient: WalletOf): AccountState {
  const url = 'url' in walletClient.transport ? String(walletClient.transport.url) : walletClient.uid;
  const key = `${url}|${walletClient.account.address.toLowerCase()}`;
  let state = states.get(key);
  if (!state) states.set(key, (state = { next: undefined, fees: undefined, chainId: undefined }));
  return state;
}

/**
 * Gas limit and fees for `call`, outside the submit queue: one `eth_estimateGas` (which also refuses a call that
 * would revert) and the account's cached fees.
 *
 * @example const unsigned = await prepareCall(publicClient, walletClient, { to: token, data });
 */
export async function prepareCall(
  publicClient: PublicClient,
  walletClient: WalletOf,
  call: { to: Address; data: Hex },
): Promise<UnsignedCall> {
  const [gas, fees] = await Promise.all([
    publicClient.estimateGas({ ...call, account: walletClient.account }),
    feesOf(publicClient, walletClient),
  ]);
  return { ...call, gas, fees };
}

async function feesOf(publicClient: PublicClient, walletClient: WalletOf): Promise<FeeFields> {
  const state = stateOf(walletClient);
  const now = Date.now();
  if (state.fees && now - state.fees.at < FEE_TTL_MS) return state.fees.value;
  const value = publicClient.estimateFeesPerGas({ chain: walletClient.chain ?? null, type: 'eip1559' }).then(
    (f): FeeFields => ({ maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas }),
    async (): Promise<FeeFields> => ({ gasPrice: await publicClient.getGasPrice() }),
  );
  state.fees = { at: now, value };
  value.catch(() => {
    if (state.fees?.value === value) state.fees = undefined;
  });
  return value;
}

/**
 * Forgets the cached nonce of the account (and its fees, unless `keepFees`), so the next send reads them from the
 * node. Keeping the fees after a lost answer lets the same call be signed into the very same transaction again.
 */
export function resyncGasAccount(walletClient: WalletOf, keepFees = false): void {
  const state = stateOf(walletClient);
  state.next = undefined;
  if (!keepFees) state.fees = undefined;
}

/**
 * Takes the account's next nonce and signs `call` with it (locally for a local account, `eth_signTransaction`
 * otherwise). Run inside the account's submit queue; `commit()` after the send was taken (or may have been), so the
 * nonce is not handed out twice. Undefined when the node cannot sign without sending.
 */
export async function signNext(
  publicClient: PublicClient,
  walletClient: WalletOf,
  call: UnsignedCall,
): Promise<{ signed: SignedCall; commit: () => void } | { signed: undefined; nonce: number; commit: () => void }> {
  const state = stateOf(walletClient);
  const account = walletClient.account;
  if (state.next === undefined)
    state.next = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const nonce = state.next;
  const commit = () => {
    if (state.next === nonce) state.next = nonce + 1;
  };
  const chainId = await chainIdOf(publicClient, walletClient, state);
  const tx = {
    to: call.to,
    data: call.data,
    gas: call.gas,
    nonce,
    chainId,
    ...('gasPrice' in call.fees
      ? { type: 'legacy' as const, gasPrice: call.fees.gasPrice }
      : {
          type: 'eip1559' as const,
          maxFeePerGas: call.fees.maxFeePerGas,
          maxPriorityFeePerGas: call.fees.maxPriorityFeePerGas,
        }),
  };
  let serialized: Hex;
  if (account.type === 'local' && account.signTransaction) serialized = await account.signTransaction(tx);
  else {
    try {
      serialized = await walletClient.signTransaction({ ...tx, account, chain: walletClient.chain ?? null });
    } catch (error) {
      if (unsupportedMethod(error)) return { signed: undefined, nonce, commit };
      throw error;
    }
  }
  return { signed: { nonce, serialized, hash: keccak256(serialized) }, commit };
}

function chainIdOf(publicClient: PublicClient, walletClient: WalletOf, state: AccountState): Promise<number> {
  if (walletClient.chain) return Promise.resolve(walletClient.chain.id);
  if (!state.chainId) state.chainId = publicClient.getChainId();
  return state.chainId;
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

/**
 * True when the node refused a send for its nonce or fee (nonce too low/high, replacement underpriced, fee too
 * low): nothing was taken, and the same call signed again with a fresh nonce and fees will be.
 */
export function staleNonceOrFee(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  return /nonce too (low|high)|nonce has already been used|replacement transaction underpriced|transaction underpriced|fee too low|max fee per gas less than block base fee|invalid nonce/i.test(
    error.message + ' ' + error.details,
  );
}
