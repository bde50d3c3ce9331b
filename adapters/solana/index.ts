/**
 * x402-rails/solana: the Solana rail (@solana/web3.js + @solana/spl-token). x402 `exact` with SPL
 * `TransferChecked` (Token and Token-2022), wire-identical to the official SVM scheme: the client signs a
 * transfer as authority, the server co-signs as fee payer and settles.
 *
 * @example
 * import { solanaExactServer, solanaExactClient, solanaWallet, solanaNetworkOf } from 'x402-rails/solana';
 */
export { solanaExactServer, type SolanaExactServerParameters } from './server';
export { solanaExactClient } from './client';
export { solanaWallet, isSolanaWallet, type SolanaWallet } from './wallet';
export { buildExactTransaction, type BuildExactTransactionParameters } from './buildExactTransaction';
export {
  inspectExactTransaction,
  instructionsOf,
  type ExactExpectations,
  type ExactTransfer,
  type InspectionResult,
} from './inspectTransaction';
export { checkSignerSignature, type SignatureCheck } from './verifySignature';
export { simulatePayment, blockhashIsValid, classifyTransactionError, type SimulationVerdict } from './simulatePayment';
export {
  settleTransaction,
  coSign,
  hasLanded,
  landedMessageMatches,
  type SettleTransactionParameters,
  type SettleTransactionResult,
} from './settleTransaction';
export { settlementFeeLamports, type SettlementFeeParameters } from './settlementFee';
export {
  SolanaExactPayloadSchema,
  decodePaymentTransaction,
  encodePaymentTransaction,
  paymentIdOf,
  type SolanaExactPayload,
} from './payload';
export { readMintInfo, createMintCache, type MintInfo } from './mintInfo';
export { solanaNetworkOf, isSolanaNetwork, memoOf } from './requirements';
export { base58Encode, base58Decode } from './base58';
export {
  SOLANA_RAIL_ID,
  SOLANA_WALLET_KIND,
  MEMO_PROGRAM_ID,
  COMPUTE_BUDGET_PROGRAM_ID,
  DEFAULT_COMPUTE_UNIT_LIMIT,
  DEFAULT_COMPUTE_UNIT_PRICE,
  DEFAULT_MAX_COMPUTE_UNIT_PRICE,
  DEFAULT_MAX_COMPUTE_UNIT_LIMIT,
  DEFAULT_MAX_FEE_LAMPORTS,
  LAMPORTS_PER_SIGNATURE,
  DEFAULT_MAX_TIMEOUT_SECONDS,
  MAX_MEMO_BYTES,
} from './constants';
export { solanaRefunder, type SolanaRefunderParameters } from './solanaRefunder';
