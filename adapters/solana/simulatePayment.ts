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
export type SimulationVerdict = { ok: true } | { ok: false; reason: 'insufficient_funds' | 'blockhash_expired' | 'simulation_failed'; message: string };

/**
 * Maps a transaction error (JSON form, as RPC reports it) to a payment reason: the token program's
 * InsufficientFunds on the transfer → `insufficient_funds`, an unknown blockhash → `blockhash_expired`,
 * anything else → `simulation_failed`. Fee-payer faults are infrastructure faults and throw.
 *
 * @example classifyTransactionError({ InstructionError: [2, { Custom: 1 }] }); // insufficient_funds
 */
export function classifyTransactionError(err: TransactionError | string | object, logs: readonly string[] = []): Exclude<SimulationVerdict, { ok: true }> {
  if (err === 'BlockhashNotFound') return { ok: false, reason: 'blockhash_expired', message: 'The transaction’s recent blockhash has expired; pay a fresh challenge.' };
  if (err === 'InsufficientFundsForFee' || err === 'AccountNotFound') {
    throw new RailUnavailableError('The server’s Solana fee payer cannot pay the transaction fee; nothing was paid. Fund the fee payer.', { rail: SOLANA_RAIL_ID });
  }
  const instructionError = InstructionErrorSchema.safeParse(err);
  if (instructionError.success) {
    const [index, inner] = instructionError.data.InstructionError;
    if (index === TRANSFER_INDEX && CustomErrorSchema.safeParse(inner).data?.Custom === TOKEN_INSUFFICIENT_FUNDS) {
      return { ok: false, reason: 'insufficient_funds', message: 'The payer’s token account holds less than the amount.' };
    }
  }
  const tail = logs.slice(-3).join(' | ');
  return { ok: false, reason: 'simulation_failed', message: `The transaction fails in simulation (${JSON.stringify(err)})${tail ? `: ${tail}` : ''}.` };
}

/**
 * Simulates a payment transaction without signature checks (the fee payer has not signed yet) and without
 * replacing its blockhash. No state changes. RPC failures become `RailUnavailableError`.
 *
 * @example const verdict = await simulatePayment(connection, tx);
 */
export async function simulatePayment(connection: Connection, tx: VersionedTransaction): Promise<SimulationVerdict> {
  let result;
  try {
    result = await connection.simulateTransaction(tx, { sigVerify: false, replaceRecentBlockhash: false, commitment: 'confirmed' });
  } catch (cause) {
    if (cause instanceof SolanaJSONRPCError) return { ok: false, reason: 'simulation_failed', message: `The node refused to simulate the transaction: ${cause.message}` };
    throw new RailUnavailableError('The Solana RPC failed while simulating the payment. Try again shortly.', { cause, rail: SOLANA_RAIL_ID });
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
    throw new RailUnavailableError('The Solana RPC failed while checking the blockhash. Try again shortly.', { cause, rail: SOLANA_RAIL_ID });
  }
}
