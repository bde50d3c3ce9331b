import { SolanaJSONRPCError, type Connection, type TransactionError, type VersionedTransaction } from '@solana/web3.js';
import { z } from 'zod';
import { RailUnavailableError } from '../../src/index';
import { SOLANA_RAIL_ID } from './constants';

/** Index of the TransferChecked instruction in an `exact` payment. */
const TRANSFER_INDEX = 2;
/** `TokenError::InsufficientFunds` in both the Token and the Token-2022 program. */
const TOKEN_INSUFFICIENT_FUNDS = 1;

/** `{ InstructionError: [index, inner] }`, as RPC reports an instruction's failure. */
const InstructionErrorSchema = z.object({ InstructionError: z.tuple([z.number(), z.unknown()]) });
/** `{ Custom: code }`, a program's own error code. */
const CustomErrorSchema = z.object({ Custom: z.number() });

/** What a simulation says about a payment. */
export type SimulationVerdict =
  | { ok: true }
  | {
      ok: false;
      reason: 'insufficient_funds' | 'blockhash_expired' | 'invalid_signature' | 'simulation_failed';
      message: string;
    };

/** JSON-RPC code a node answers `simulateTransaction` with when `sigVerify` finds a bad signature. */
const SIGNATURE_VERIFICATION_FAILURE = -32003;
/** Agave's message for that answer; web3.js v1 rethrows it as `Error('failed to simulate transaction: <message>')`, without the code. */
const SIGNATURE_VERIFICATION_MESSAGE = /^failed to simulate transaction: Transaction signature verification failure/;

/** A node's refusal of the transaction itself (sanitize, size, decoding: Agave's `invalid_params`), as web3.js v1 rethrows it. */
const TRANSACTION_REFUSED = /^failed to simulate transaction: .*(invalid transaction|too large|failed to deserialize)/i;

/** True for a node's answer that `sigVerify` refused a signature (whichever way web3.js surfaces it). */
function isSignatureVerificationFailure(error: unknown): boolean {
  if (error instanceof SolanaJSONRPCError) return error.code === SIGNATURE_VERIFICATION_FAILURE;
  return error instanceof Error && SIGNATURE_VERIFICATION_MESSAGE.test(error.message);
}
const SIGNATURE_FAILURE: Exclude<SimulationVerdict, { ok: true }> = {
  ok: false,
  reason: 'invalid_signature',
  message: 'A signature of the transaction does not verify as the cluster checks it; pay a fresh challenge.',
};

/**
 * Maps a transaction error (JSON form, as RPC reports it) to a payment reason: the token program's
 * InsufficientFunds on the transfer → `insufficient_funds`, an unknown blockhash → `blockhash_expired`,
 * anything else → `simulation_failed`. Fee-payer faults are infrastructure faults and throw.
 *
 * @example classifyTransactionError({ InstructionError: [2, { Custom: 1 }] }); // insufficient_funds
 */
export function classifyTransactionError(
  err: TransactionError | string | object,
  logs: readonly string[] = [],
): Exclude<SimulationVerdict, { ok: true }> {
  if (err === 'SignatureFailure') return SIGNATURE_FAILURE;
  if (err === 'BlockhashNotFound')
    return {
      ok: false,
      reason: 'blockhash_expired',
      message: 'The transaction’s recent blockhash has expired; pay a fresh challenge.',
    };
  if (err === 'InsufficientFundsForFee' || err === 'AccountNotFound') {
    throw new RailUnavailableError(
      'The server’s Solana fee payer cannot pay the transaction fee; nothing was paid. Fund the fee payer.',
      { rail: SOLANA_RAIL_ID },
    );
  }
  const instructionError = InstructionErrorSchema.safeParse(err);
  if (instructionError.success) {
    const [index, inner] = instructionError.data.InstructionError;
    if (index === TRANSFER_INDEX && CustomErrorSchema.safeParse(inner).data?.Custom === TOKEN_INSUFFICIENT_FUNDS) {
      return {
        ok: false,
        reason: 'insufficient_funds',
        message: 'The payer’s token account holds less than the amount.',
      };
    }
  }
  const tail = logs.slice(-3).join(' | ');
  return {
    ok: false,
    reason: 'simulation_failed',
    message: `The transaction fails in simulation (${JSON.stringify(err)})${tail ? `: ${tail}` : ''}.`,
  };
}

/**
 * Simulates a payment transaction WITH signature verification, as the cluster will run it, without replacing
 * its blockhash: pass the transaction co-signed by the fee payer (see `coSign`), so every signature is in
 * place and a payer signature the runtime would refuse (a small-order key, a malleated `s`) fails here, not
 * after the service was delivered. No state changes. RPC failures become `RailUnavailableError`.
 *
 * @example const verdict = await simulatePayment(connection, coSign(tx, feePayer).signed);
 */
export async function simulatePayment(
  connection: Connection,
  signed: VersionedTransaction,
): Promise<SimulationVerdict> {
  let result;
  try {
    result = await connection.simulateTransaction(signed, {
      sigVerify: true,
      replaceRecentBlockhash: false,
      commitment: 'confirmed',
    });
  } catch (cause) {
    if (isSignatureVerificationFailure(cause)) return SIGNATURE_FAILURE;
    // The payment's fault, not the node's: a bad payment is a 402, never a 503 (nor a strike on a breaker).
    if (cause instanceof Error && TRANSACTION_REFUSED.test(cause.message)) {
      return {
        ok: false,
        reason: 'simulation_failed',
        message: `The node refused to simulate the transaction: ${cause.message.slice(0, 200)}`,
      };
    }
    if (cause instanceof SolanaJSONRPCError)
      return {
        ok: false,
        reason: 'simulation_failed',
        message: `The node refused to simulate the transaction: ${cause.message}`,
      };
    throw new RailUnavailableError('The Solana RPC failed while simulating the payment. Try again shortly.', {
      cause,
      rail: SOLANA_RAIL_ID,
    });
  }
  const { err, logs } = result.value;
  if (err === null) return { ok: true };
  return classifyTransactionError(err, logs ?? []);
}

/**
 * True while a blockhash can still land a transaction (`isBlockhashValid`). RPC failures become
 * `RailUnavailableError`.
 *
 * @example if (!(await blockhashIsValid(connection, tx.message.recentBlockhash))) …
 */
export async function blockhashIsValid(connection: Connection, blockhash: string): Promise<boolean> {
  try {
    return (await connection.isBlockhashValid(blockhash, { commitment: 'confirmed' })).value;
  } catch (cause) {
    throw new RailUnavailableError('The Solana RPC failed while checking the blockhash. Try again shortly.', {
      cause,
      rail: SOLANA_RAIL_ID,
    });
  }
}
