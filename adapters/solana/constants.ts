import { PublicKey } from '@solana/web3.js';
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from '@solana/spl-token';

/** Adapter id of the Solana rail (server and client halves). */
export const SOLANA_RAIL_ID = 'solana-spl';

/** Wallet kind the Solana client rail pays from. */
export const SOLANA_WALLET_KIND = 'solana';

/** The SPL Memo program (v2), the only optional instruction an `exact` payment may carry. */
export const MEMO_PROGRAM_ID = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');

/** The Compute Budget program. */
export const COMPUTE_BUDGET_PROGRAM_ID = new PublicKey('ComputeBudget111111111111111111111111111111');

/** The two token programs an `exact` payment may use. */
export const TOKEN_PROGRAM_IDS: readonly PublicKey[] = [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID];

/** Compute-unit limit the client asks for (as the official x402 SVM client). */
export const DEFAULT_COMPUTE_UNIT_LIMIT = 20_000;

/** Compute-unit price the client offers, micro-lamports per CU (as the official x402 SVM client). */
export const DEFAULT_COMPUTE_UNIT_PRICE = 1n;

/** Highest compute-unit price the server's fee payer accepts by default: 5 lamports per CU (the official cap). */
export const DEFAULT_MAX_COMPUTE_UNIT_PRICE = 5_000_000n;

/** Highest compute-unit limit the server's fee payer accepts by default (bounds the priority fee it pays). */
export const DEFAULT_MAX_COMPUTE_UNIT_LIMIT = 200_000;

/** Lamports a cluster charges per transaction signature (the base fee); an `exact` payment has two. */
export const LAMPORTS_PER_SIGNATURE = 5_000n;

/**
 * Most lamports the server's fee payer spends on one settlement by default: base fee (2 × 5,000) plus at most
 * 10,000 of priority fee (limit × price / 1e6). The official client's budget (20,000 CU × 1 µlamport) costs
 * 10,001. Without this cap, the compute caps alone would let a payer make every settlement cost ~1,000,000.
 */
export const DEFAULT_MAX_FEE_LAMPORTS = 20_000n;

/** Longest memo, in UTF-8 bytes, a payment may carry. */
export const MAX_MEMO_BYTES = 256;

/** Largest serialized transaction a cluster takes: one packet (PACKET_DATA_SIZE). */
export const MAX_TRANSACTION_BYTES = 1232;

/** Largest base64 transaction accepted (a Solana packet is 1232 bytes). */
export const MAX_TRANSACTION_BASE64 = 2048;

/** Seconds a Solana `exact` offer stays payable by default (the official default). */
export const DEFAULT_MAX_TIMEOUT_SECONDS = 60;
