/**
 * One confirmation watcher per node for every settlement transaction in flight, instead of a receipt poll per
 * settlement. Each tick asks the head block number once; every new block is read with one
 * `eth_getBlockReceipts` and the receipts of watched hashes resolve their waiters. A hash is also asked for
 * directly once when it is first watched (it may have been mined in a block read before it was added) and again
 * when it has waited long: then a transaction the node no longer knows is either rebroadcast from its signed bytes
 * (dropped from the pool, its nonce still free: same hash, so it can never settle twice) or reported `replaced`
 * (its nonce was taken by another transaction: it can never be mined, and the caller may send the call again).
 */
import {
  formatTransactionReceipt,
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';

/** How a watched transaction ended. */
export type WatchOutcome =
  | { status: 'receipt'; receipt: TransactionReceipt }
  | { status: 'replaced' }
  | { status: 'timeout' };

/** What the watcher needs to rescue a dropped transaction. */
export type WatchedTransaction = {
  hash: Hash;
  /** The signed bytes, to rebroadcast if the node drops it; unknown for a transaction the node signed and sent. */
  serialized?: Hex;
  from: Address;
  nonce?: number;
};

type Entry = WatchedTransaction & {
  timer?: ReturnType<typeof setTimeout>;
  addedAt: number;
  checkedAt: number;
  fresh: boolean;
  resolve: (outcome: WatchOutcome) => void;
};

/** After how long without a receipt a transaction is looked up on its own (ms): dropped, replaced, or missed. */
const STALL_MS = 1_000;
/** At most this many blocks are read per tick; further behind, watched hashes are asked for directly. */
const MAX_BLOCKS_PER_TICK = 32;

/** A watcher shared by all settlements on one public client. */
export type ReceiptWatcher = {
  /** Waits for `tx`'s receipt (or `replaced`, or `timeout` after `timeoutMs`). */
  wait(tx: WatchedTransaction, timeoutMs: number): Promise<WatchOutcome>;
  /** Hashes in flight now (for tests and metrics). */
  readonly inFlight: number;
};

const watchers = new WeakMap<PublicClient, Map<number, ReceiptWatcher>>();

/**
 * The watcher of `publicClient` polling every `pollingIntervalMs` (one per client and interval; it stops polling
 * when nothing is in flight).
 *
 * @example const outcome = await receiptWatcherFor(publicClient, 250).wait({ hash, from, nonce, serialized }, 30_000);
 */
export function receiptWatcherFor(publicClient: PublicClient, pollingIntervalMs: number): ReceiptWatcher {
  let byInterval = watchers.get(publicClient);
  if (!byInterval) watchers.set(publicClient, (byInterval = new Map()));
  let watcher = byInterval.get(pollingIntervalMs);
  if (!watcher) byInterval.set(pollingIntervalMs, (watcher = createReceiptWatcher(publicClient, pollingIntervalMs)));
  return watcher;
}

function createReceiptWatcher(publicClient: PublicClient, pollingIntervalMs: number): ReceiptWatcher {
  const entries = new Map<Hash, Entry>();
  let lastBlock: bigint | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ticking = false;

  const settle = (entry: Entry, outcome: WatchOutcome) => {
    if (entries.get(entry.hash) !== entry) return;
    entries.delete(entry.hash);
    clearTimeout(entry.timer);
    entry.resolve(outcome);
  };

  const schedule = () => {
    if (timer !== undefined || ticking || entries.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      ticking = true;
      tick()
        .catch(() => undefined) // an RPC hiccup: the next tick tries again
        .finally(() => {
          ticking = false;
          schedule();
        });
    }, pollingIntervalMs);
  };

  const receiptOf = async (hash: Hash): Promise<TransactionReceipt | undefined> =>
    publicClient.getTransactionReceipt({ hash }).catch(() => undefined);

  async function tick(): Promise<void> {
    const now = Date.now();
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const from = lastBlock === undefined ? head : lastBlock + 1n;
    const direct = new Set<Entry>();
    if (head - from + 1n > BigInt(MAX_BLOCKS_PER_TICK)) {
      for (const entry of entries.values()) direct.add(entry);
    } else if (from <= head) {
      const blocks: bigint[] = [];
      for (let b = from; b <= head; b++) blocks.push(b);
      const receipts = await Promise.all(
        blocks.map((b) => publicClient.request({ method: 'eth_getBlockReceipts', params: [`0x${b.toString(16)}`] })),
      );
      for (const list of receipts)
        for (const raw of list ?? []) {
          const entry = entries.get(raw.transactionHash);
          if (entry) settle(entry, { status: 'receipt', receipt: formatTransactionReceipt(raw) });
        }
    }
    lastBlock = head;
    for (const entry of entries.values()) {
      if (entry.fresh || now - entry.checkedAt >= STALL_MS) direct.add(entry);
      entry.fresh = false;
    }
    await Promise.all([...direct].map((entry) => lookUp(entry, now)));
  }

  /** Asks for one transaction on its own: its receipt, else whether it was dropped or replaced. */
  async function lookUp(entry: Entry, now: number): Promise<void> {
    entry.checkedAt = now;
    const receipt = await receiptOf(entry.hash);
    if (receipt) return settle(entry, { status: 'receipt', receipt });
    if (now - entry.addedAt < STALL_MS) return;
    const known = await publicClient.getTransaction({ hash: entry.hash }).then(
      () => true,
      () => false,
    );
    if (known || entry.nonce === undefined) return;
    const mined = await publicClient.getTransactionCount({ address: entry.from, blockTag: 'latest' });
    if (mined > entry.nonce) {
      // Its nonce is used by another transaction, unless it was mined between the two reads.
      const late = await receiptOf(entry.hash);
      return settle(entry, late ? { status: 'receipt', receipt: late } : { status: 'replaced' });
    }
    if (entry.serialized) {
      await publicClient.sendRawTransaction({ serializedTransaction: entry.serialized }).catch(() => undefined);
    }
  }

  return {
    get inFlight() {
      return entries.size;
    },
    wait(tx, timeoutMs) {
      const earlier = entries.get(tx.hash);
      return new Promise<WatchOutcome>((resolve) => {
        const now = Date.now();
        const entry: Entry = {
          ...tx,
          addedAt: now,
          checkedAt: now,
          fresh: true,
          resolve: earlier
            ? (outcome) => {
                earlier.resolve(outcome);
                resolve(outcome);
              }
            : resolve,
        };
        entries.set(tx.hash, entry);
        entry.timer = setTimeout(() => settle(entry, { status: 'timeout' }), timeoutMs);
        entry.timer.unref?.();
        schedule();
      });
    },
  };
}
