import { PublicKey, TransactionInstruction, type VersionedTransaction } from '@solana/web3.js';
import { decodeTransferCheckedInstruction } from '@solana/spl-token';
import { associatedTokenAddress } from './associatedTokenAddress';
import {
  COMPUTE_BUDGET_PROGRAM_ID,
  DEFAULT_MAX_FEE_LAMPORTS,
  MAX_MEMO_BYTES,
  MEMO_PROGRAM_ID,
  TOKEN_PROGRAM_IDS,
} from './constants';
import { settlementFeeLamports } from './settlementFee';

/** What an `exact` payment must match, from the offer and the server's configuration. */
export type ExactExpectations = {
  feePayer: PublicKey;
  asset: PublicKey;
  payTo: PublicKey;
  amount: bigint;
  /** `extra.memo`, when the offer asks for one. */
  memo?: string;
  /** Micro-lamports per compute unit. */
  maxComputeUnitPrice: bigint;
  maxComputeUnitLimit: number;
  /**
   * Most lamports the fee payer may be charged for the settlement (base fee + priority fee); default
   * {@link DEFAULT_MAX_FEE_LAMPORTS}.
   */
  maxFeeLamports?: bigint;
};

/** The transfer an `exact` payment makes, as read from its transaction. */
export type ExactTransfer = {
  programId: PublicKey;
  source: PublicKey;
  mint: PublicKey;
  destination: PublicKey;
  /** The transfer authority: the payer. */
  authority: PublicKey;
  amount: bigint;
  decimals: number;
  computeUnitLimit: number;
  computeUnitPrice: bigint;
  /** Lamports the fee payer is charged when it settles this transaction. */
  feeLamports: bigint;
  memo?: string;
};

/** Outcome of {@link inspectExactTransaction}: the transfer, or the first rule it breaks. */
export type InspectionResult =
  | { ok: true; transfer: ExactTransfer }
  | { ok: false; reason: string; message: string; payer?: string };

const fail = (reason: string, message: string, payer?: PublicKey): InspectionResult => ({
  ok: false,
  reason,
  message,
  ...(payer ? { payer: payer.toBase58() } : {}),
});

/**
 * The instructions of a transaction with their accounts resolved (static keys only; lookup tables are refused
 * earlier).
 *
 * @example instructionsOf(tx)[2].programId; // the token program
 */
export function instructionsOf(tx: VersionedTransaction): TransactionInstruction[] {
  const { message } = tx;
  const keys = message.staticAccountKeys;
  return message.compiledInstructions.map((ix) => {
    const programId = keys[ix.programIdIndex];
    if (!programId) throw new Error('program index out of range');
    return new TransactionInstruction({
      programId,
      data: Buffer.from(ix.data),
      keys: ix.accountKeyIndexes.map((i) => {
        const pubkey = keys[i];
        if (!pubkey) throw new Error('account index out of range');
        return { pubkey, isSigner: message.isAccountSigner(i), isWritable: message.isAccountWritable(i) };
      }),
    });
  });
}

function computeUnitLimitOf(ix: TransactionInstruction): number | undefined {
  if (
    !ix.programId.equals(COMPUTE_BUDGET_PROGRAM_ID) ||
    ix.keys.length !== 0 ||
    ix.data.length !== 5 ||
    ix.data[0] !== 2
  )
    return undefined;
  return ix.data.readUInt32LE(1);
}

function computeUnitPriceOf(ix: TransactionInstruction): bigint | undefined {
  if (
    !ix.programId.equals(COMPUTE_BUDGET_PROGRAM_ID) ||
    ix.keys.length !== 0 ||
    ix.data.length !== 9 ||
    ix.data[0] !== 3
  )
    return undefined;
  return ix.data.readBigUInt64LE(1);
}

function memoTextOf(ix: TransactionInstruction): string | undefined {
  if (!ix.programId.equals(MEMO_PROGRAM_ID) || ix.keys.length !== 0 || ix.data.length > MAX_MEMO_BYTES)
    return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(ix.data);
  } catch {
    return undefined;
  }
}

/**
 * Static (no RPC) checks of an x402 `exact` SVM transaction against an offer: fee payer is ours, a writable
 * signer, and no transfer party nor in any instruction's accounts; no account twice; layout exactly
 * `[SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked, Memo?]` with no address lookup tables; compute
 * budget under the caps and the fee the fee payer would be charged (base + priority) under `maxFeeLamports`;
 * signers exactly fee payer + transfer authority; mint, destination ATA, amount and memo match; the source is
 * not the destination (a self-transfer moves nothing).
 * Mint program and decimals need the mint account and are checked by the caller.
 *
 * @example
 * const r = inspectExactTransaction(tx, { feePayer, asset, payTo, amount: 10_000n, maxComputeUnitPrice: 5_000_000n, maxComputeUnitLimit: 200_000 });
 * if (!r.ok) console.log(r.reason); // e.g. 'payee_mismatch'
 */
export function inspectExactTransaction(tx: VersionedTransaction, want: ExactExpectations): InspectionResult {
  const { message } = tx;
  if (message.addressTableLookups.length > 0)
    return fail('invalid_transaction_layout', 'Address lookup tables are not accepted in an exact payment.');
  const feePayer = message.staticAccountKeys[0];
  if (!feePayer?.equals(want.feePayer))
    return fail(
      'fee_payer_mismatch',
      `The transaction's fee payer must be this server's fee payer ${want.feePayer.toBase58()}.`,
    );
  // What a node's sanitizer refuses before simulating (an RPC error, not a simulation result): refuse it here.
  if (message.header.numReadonlySignedAccounts >= message.header.numRequiredSignatures)
    return fail('invalid_transaction_layout', 'The fee payer must be a writable signer.');
  if (new Set(message.staticAccountKeys.map((k) => k.toBase58())).size !== message.staticAccountKeys.length) {
    return fail('invalid_transaction_layout', 'An account appears twice in the transaction.');
  }

  let instructions: TransactionInstruction[];
  try {
    instructions = instructionsOf(tx);
  } catch {
    return fail('invalid_transaction_layout', 'An instruction refers to an account the message does not hold.');
  }
  if (instructions.length > 4)
    return fail(
      'unexpected_instruction',
      'An exact payment holds only compute limit, compute price, TransferChecked and an optional memo.',
    );
  const [limitIx, priceIx, transferIx, memoIx] = instructions;
  if (!limitIx || !priceIx || !transferIx)
    return fail(
      'invalid_transaction_layout',
      'An exact payment holds compute limit, compute price and TransferChecked instructions, in this order.',
    );

  const computeUnitLimit = computeUnitLimitOf(limitIx);
  if (computeUnitLimit === undefined)
    return fail('invalid_transaction_layout', 'Instruction 0 must be SetComputeUnitLimit.');
  const computeUnitPrice = computeUnitPriceOf(priceIx);
  if (computeUnitPrice === undefined)
    return fail('invalid_transaction_layout', 'Instruction 1 must be SetComputeUnitPrice.');

  const programId = TOKEN_PROGRAM_IDS.find((id) => id.equals(transferIx.programId));
  if (!programId)
    return fail(
      'invalid_transaction_layout',
      'Instruction 2 must be a TransferChecked of the Token or Token-2022 program.',
    );
  let decoded;
  try {
    decoded = decodeTransferCheckedInstruction(transferIx, programId);
  } catch {
    return fail(
      'invalid_transaction_layout',
      'Instruction 2 must be a TransferChecked of the Token or Token-2022 program.',
    );
  }
  const { source, mint, destination, owner, multiSigners } = decoded.keys;
  const authority = owner.pubkey;
  if (multiSigners.length > 0 || !owner.isSigner)
    return fail('invalid_transaction_layout', 'The transfer authority must sign for itself (no multisig).', authority);

  let memo: string | undefined;
  if (memoIx) {
    memo = memoTextOf(memoIx);
    if (memo === undefined)
      return fail(
        'unexpected_instruction',
        `Instruction 3 may only be a Memo (no accounts, at most ${MAX_MEMO_BYTES} bytes of UTF-8).`,
        authority,
      );
  }

  const feePayerAta = associatedTokenAddress(mint.pubkey, want.feePayer, programId);
  if (authority.equals(want.feePayer) || source.pubkey.equals(want.feePayer) || source.pubkey.equals(feePayerAta)) {
    return fail(
      'fee_payer_is_transfer_party',
      "The fee payer may not be the transfer's authority or source.",
      authority,
    );
  }
  if (
    instructions.some((ix) => ix.keys.some((k) => k.pubkey.equals(want.feePayer)) || ix.programId.equals(want.feePayer))
  ) {
    return fail('fee_payer_in_instruction', "The fee payer may not appear in any instruction's accounts.", authority);
  }
  const signers = message.staticAccountKeys.slice(0, message.header.numRequiredSignatures);
  if (signers.length !== 2 || !signers[1]?.equals(authority)) {
    return fail(
      'unexpected_signer',
      'The transaction must be signed by exactly the fee payer and the transfer authority.',
      authority,
    );
  }

  if (computeUnitLimit > want.maxComputeUnitLimit)
    return fail(
      'compute_limit_too_high',
      `The compute-unit limit ${computeUnitLimit} is above ${want.maxComputeUnitLimit}.`,
      authority,
    );
  if (computeUnitPrice > want.maxComputeUnitPrice) {
    return fail(
      'compute_price_too_high',
      `The compute-unit price ${computeUnitPrice} µlamports is above ${want.maxComputeUnitPrice}.`,
      authority,
    );
  }
  const feeLamports = settlementFeeLamports({
    signatures: message.header.numRequiredSignatures,
    computeUnitLimit,
    computeUnitPrice,
  });
  const maxFeeLamports = want.maxFeeLamports ?? DEFAULT_MAX_FEE_LAMPORTS;
  if (feeLamports > maxFeeLamports) {
    return fail(
      'fee_too_high',
      `Settling this transaction would cost the fee payer ${feeLamports} lamports; this server pays at most ${maxFeeLamports}. Lower the compute-unit price or limit.`,
      authority,
    );
  }
  if (!mint.pubkey.equals(want.asset))
    return fail(
      'asset_mismatch',
      `The transfer moves mint ${mint.pubkey.toBase58()}, the offer asks for ${want.asset.toBase58()}.`,
      authority,
    );
  const expectedDestination = associatedTokenAddress(want.asset, want.payTo, programId);
  if (!destination.pubkey.equals(expectedDestination)) {
    return fail(
      'payee_mismatch',
      `The transfer must credit ${expectedDestination.toBase58()}, the associated token account of payTo.`,
      authority,
    );
  }
  // The token programs accept a transfer from an account to itself (owner or delegate) and move nothing.
  if (source.pubkey.equals(destination.pubkey))
    return fail(
      'self_transfer',
      "The transfer's source is the payee's own token account; nothing would be paid.",
      authority,
    );
  if (decoded.data.amount !== want.amount)
    return fail(
      'amount_mismatch',
      `The transfer is for ${decoded.data.amount}, the price is ${want.amount}.`,
      authority,
    );
  if (want.memo !== undefined && memo !== want.memo)
    return fail('memo_mismatch', 'The transaction must carry the memo the offer names in extra.memo.', authority);

  return {
    ok: true,
    transfer: {
      programId,
      source: source.pubkey,
      mint: mint.pubkey,
      destination: destination.pubkey,
      authority,
      amount: decoded.data.amount,
      decimals: decoded.data.decimals,
      computeUnitLimit,
      computeUnitPrice,
      feeLamports,
      ...(memo === undefined ? {} : { memo }),
    },
  };
}
