import { parseAbi } from 'viem';

/**
 * The batch-call interface the batched EIP-3009 settlement uses: Multicall3's `aggregate3` (each call with its own
 * `allowFailure`). Any contract with this entry point works: Multicall3 where a chain has it, or the devnet's own
 * `DevnetBatchCall` (fixtures/evm/contracts).
 */
export const batchCallAbi = parseAbi([
  'struct Call3 { address target; bool allowFailure; bytes callData; }',
  'struct Result { bool success; bytes returnData; }',
  'function aggregate3(Call3[] calls) payable returns (Result[] returnData)',
]);

/** The address Multicall3 has on most chains, where the devnet installs its batch-call contract too. */
export const MULTICALL3_ADDRESS = '0xcA11bde05977b3631167028862bE2a173976CA11' as const;
