import {
  SendTransactionError,
  VersionedTransaction,
  type Connection,
  type Keypair,
  type SignatureStatus,
} from '@solana/web3.js';
import { RailUnavailableError } from '../../src/index';
import { base58Encode } from './base58';
import { SOLANA_RAIL_ID } from './constants';
import { ed25519Sign } from './ed25519';
import { DEFAULT_RPC_TIMEOUT_MS, NO_ANSWER, answerWithin } from './rpcDeadline';
import { classifyTransactionError } from './simulatePayment';

/** Parameters of {@link settleTransaction}. */
export type SettleTransactionParameters = {
  connection: Connection;
  /** Co-signs as fee payer. */
  feePayer: Keypair;
  /** How long to wait for confirmation before answering `pending` (default 30 s). */
  confirmTimeoutMs?: number;
  /** Delay between status polls (default 100 ms). */
  pollIntervalMs?: number;
  /** Longest wait for one RPC call (default 10 s); a send with no answer by then is confirmed by polling. */
  rpcTimeoutMs?: number;
  /** Called with the transaction signature just before it is sent, so the intent is on record. */
  onBroadcast?: (signature: string) => Promise<void>;
};

/** Outcome of {@link settleTransaction}; `signature` is the transaction id (the fee payer's signature). */
export type SettleTransactionResult =
  | { status: 'landed'; signature: string }
  | { status: 'failed'; reason: string; message: string; signature?: string }
  | { status: 'pending'; signature: string; message: string };

/** Settlements under way in this process, by transaction signature: a second call joins the first. */
const inFlight = new Map<string, Promise<SettleTransactionResult>>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Co-signs a verified payment transaction as fee payer, sends it and confirms it by polling
 * `getSignatureStatuses` (no WebSocket). Deduplicates itself: concurrent calls for the same transaction
 * share one settlement, and a transaction that already landed is answered with its signature without being
 * sent again (a cluster would report success for the duplicate). Outcomes: `landed`; `failed` when the node
 * refused it (nothing paid) or it landed with an error; `pending` when it may have been broadcast but was
 * not confirmed in time. Throws `RailUnavailableError` only when the RPC failed before anything was sent.
 *
 * @example const r = await settleTransaction(tx, { connection, feePayer }); if (r.status === 'landed') r.signature;
 */
export function settleTransaction(
  tx: VersionedTransaction,
  p: SettleTransactionParameters,
): Promise<SettleTransactionResult> {
  const { signed, signature } = coSign(tx, p.feePayer);
  const running = inFlight.get(signature);
  if (running) return running;
  const settling = run(signed, signature, p).finally(() => inFlight.delete(signature));
  inFlight.set(signature, settling);
  return settling;
}

/**
 * A copy of `tx` co-signed by the fee payer, and its transaction signature (the id a cluster knows it by;
 * Ed25519 is deterministic, so the same payment always gets the same id).
 *
 * @example const { signature } = coSign(tx, feePayer);
 */
export function coSign(
  tx: VersionedTransaction,
  feePayer: Keypair,
): { signed: VersionedTransaction; signature: string } {
  const signed = new VersionedTransaction(
    tx.message,
    tx.signatures.map((s) => Uint8Array.from(s)),
  );
  const signature = ed25519Sign(feePayer, tx.message.serialize());
  signed.addSignature(feePayer.publicKey, signature);
  return { signed, signature: base58Encode(signature) };
}

/**
 * True when a transaction with this signature already landed (successfully or not). RPC failures become
 * `RailUnavailableError`.
 *
 * @example if (await hasLanded(connection, signature)) …
 */
export async function hasLanded(connection: Connection, signature: string): Promise<boolean> {
  try {
    return (await statusOf(connection, signature)) !== null;
  } catch (cause) {
    throw new RailUnavailableError('The Solana RPC failed while looking the transaction up. Try again shortly.', {
      cause,
      rail: SOLANA_RAIL_ID,
    });
  }
}

/**
 * Whether the transaction a cluster knows as `signature` carries exactly `message` (serialized): true or
 * false, or undefined when the cluster does not return the transaction (not landed, or history pruned). The
 * signature is the fee payer's deterministic signature of the message, so this holds for every transaction
 * our fee payer signed; it is checked anyway wherever a landed transaction is attributed to a payment that did
 * not send it (a takeover, a reconciliation). RPC failures become `RailUnavailableError`.
 *
 * @example if ((await landedMessageMatches(connection, signature, tx.message.serialize())) === false) …
 */
export async function landedMessageMatches(
  connection: Connection,
  signature: string,
  message: Uint8Array,
): Promise<boolean | undefined> {
  let landed;
  try {
    landed = await connection.getTransaction(signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
  } catch (cause) {
    throw new RailUnavailableError('The Solana RPC failed while reading the landed transaction. Try again shortly.', {
      cause,
      rail: SOLANA_RAIL_ID,
    });
  }
  if (!landed) return undefined;
  return Buffer.from(landed.transaction.message.serialize()).equals(Buffer.from(message));
}

/**
 * Whether a transaction landed successfully (`landed`), landed with an error (`failed`), or is unknown.
 * RPC failures become `RailUnavailableError`.
 */
export async function settledStatus(
  connection: Connection,
  signature: string,
): Promise<'landed' | 'failed' | 'unknown'> {
  let status: SignatureStatus | null;
  try {
    status = await statusOf(connection, signature);
  } catch (cause) {
    throw new RailUnavailableError('The Solana RPC failed while looking the transaction up. Try again shortly.', {
      cause,
      rail: SOLANA_RAIL_ID,
    });
  }
  if (!status) return 'unknown';
  return status.err === null ? 'landed' : 'failed';
}

async function statusOf(connection: Connection, signature: string): Promise<SignatureStatus | null> {
  const { value } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
  return value[0] ?? null;
}

function outcomeOf(status: SignatureStatus, signature: string): SettleTransactionResult | undefined {
  if (status.err !== null) {
    return {
      status: 'failed',
      reason: 'settlement_failed',
      message: `Transaction ${signature} landed with an error (${JSON.stringify(status.err)}); nothing was paid.`,
      signature,
    };
  }
  if (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')
    return { status: 'landed', signature };
  return undefined;
}

async function run(
  signed: VersionedTransaction,
  signature: string,
  p: SettleTransactionParameters,
): Promise<SettleTransactionResult> {
  const { connection } = p;
  const rpcTimeoutMs = p.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  let earlier: SignatureStatus | null | typeof NO_ANSWER;
  try {
    earlier = await answerWithin(statusOf(connection, signature), rpcTimeoutMs);
  } catch (cause) {
    throw new RailUnavailableError(
      'The Solana RPC failed before the settlement was sent; nothing was paid. Try again shortly.',
      { cause, rail: SOLANA_RAIL_ID },
    );
  }
  if (earlier === NO_ANSWER)
    throw new RailUnavailableError(
      `The Solana RPC did not answer within ${rpcTimeoutMs} ms before the settlement was sent; nothing was paid. Try again shortly.`,
      { rail: SOLANA_RAIL_ID },
    );
  if (earlier) {
    const known = outcomeOf(earlier, signature);
    if (known) return known;
  } else {
    await p.onBroadcast?.(signature).catch(() => undefined);
    const refused = await send(connection, signed, signature, rpcTimeoutMs);
    if (refused) return refused;
  }
  return confirm(connection, signature, p);
}

/**
 * Sends; answers a definitive refusal, or undefined when the transaction was (or may have been) broadcast
 * (sent, a transport fault, or no answer within `rpcTimeoutMs`: confirm decides).
 */
async function send(
  connection: Connection,
  signed: VersionedTransaction,
  signature: string,
  rpcTimeoutMs: number,
): Promise<SettleTransactionResult | undefined> {
  try {
    await answerWithin(
      connection.sendRawTransaction(signed.serialize(), {
        skipPreflight: false,
        preflightCommitment: 'confirmed',
        maxRetries: 5,
      }),
      rpcTimeoutMs,
    );
    return undefined;
  } catch (error) {
    if (!(error instanceof SendTransactionError)) return undefined; // transport fault: it may have gone out; confirm decides
    // A race with another process that already landed it: the node answers AlreadyProcessed.
    const landed = await answerWithin(statusOf(connection, signature), rpcTimeoutMs).then(
      (status) => (status === NO_ANSWER ? null : status),
      () => null,
    );
    if (landed) return outcomeOf(landed, signature);
    const text = error.transactionError.message;
    const known = /Blockhash not found/i.test(text)
      ? classifyTransactionError('BlockhashNotFound')
      : /Instruction 2: custom program error: 0x1$/i.test(text)
        ? classifyTransactionError({ InstructionError: [2, { Custom: 1 }] })
        : undefined;
    if (known) return { status: 'failed', reason: known.reason, message: known.message };
    return {
      status: 'failed',
      reason: 'settlement_rejected',
      message: `The node refused the settlement transaction (${text}); nothing was paid.`,
    };
  }
}

async function confirm(
  connection: Connection,
  signature: string,
  p: SettleTransactionParameters,
): Promise<SettleTransactionResult> {
  const deadline = Date.now() + (p.confirmTimeoutMs ?? 30_000);
  const rpcTimeoutMs = p.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  for (let attempt = 0; ; attempt += 1) {
    if (attempt > 0) await sleep(p.pollIntervalMs ?? 100);
    // A poll waits no longer than the confirmation may: a hung RPC still ends in `pending`.
    const wait = Math.max(1, Math.min(rpcTimeoutMs, deadline - Date.now()));
    const answer = await answerWithin(statusOf(connection, signature), wait).catch(() => null);
    const status = answer === NO_ANSWER ? null : answer;
    const outcome = status ? outcomeOf(status, signature) : undefined;
    if (outcome) return outcome;
    if (Date.now() >= deadline) break;
  }
  return { status: 'pending', signature, message: `Settlement ${signature} was sent but not confirmed in time.` };
}
