import { encodeFunctionData, getAddress, isAddress, parseAbi } from 'viem';
import { RailUnavailableError } from '../../src/index';
import { submitAndWait, submitQueueFor, type EvmSettler } from './chain';

const erc20TransferAbi = parseAbi(['function transfer(address to, uint256 value) returns (bool)']);

/** Parameters of {@link evmRefunder}: the wallet that received the deposits (holds the tokens, pays gas). */
export type EvmRefunderParameters = EvmSettler & {
  /** Rail id in error details (default `evm-eip3009`). */
  rail?: string;
};

/** What a refund asks (structurally the metering extension's RefundRequest). */
type Refund = { session: string; payer: string; asset: string; amount: bigint };
type Refunded = { status: 'sent'; reference: string } | { status: 'refused'; reason: string; message: string };

/**
 * Metered usage refunds on EVM: an ERC-20 `transfer(payer, amount)` of the deposit's token from the server's
 * wallet (simulated first, signed locally so its hash is known before it is sent, then confirmed). `refused`
 * when nothing was sent (the transfer would revert, or the RPC did not take it); throws when it was broadcast
 * but not confirmed in time (the metering extension then never sends it again on its own).
 *
 * @example
 * const refunds = { 'evm-eip3009': evmRefunder({ publicClient, walletClient: payeeWalletClient }) };
 */
export function evmRefunder(parameters: EvmRefunderParameters): {
  readonly needsDestination: false;
  refund(request: Refund): Promise<Refunded>;
} {
  const rail = parameters.rail ?? 'evm-eip3009';
  const queue = submitQueueFor(parameters.walletClient.account.address);
  return {
    needsDestination: false,
    async refund(r) {
      if (!isAddress(r.payer) || !isAddress(r.asset))
        return {
          status: 'refused',
          reason: 'invalid_address',
          message: 'The deposit payer or token is not an EVM address.',
        };
      let outcome;
      try {
        outcome = await submitAndWait(rail, parameters, queue, async () => {
          const { request } = await parameters.publicClient.simulateContract({
            address: getAddress(r.asset),
            abi: erc20TransferAbi,
            functionName: 'transfer',
            args: [getAddress(r.payer), r.amount],
            account: parameters.walletClient.account,
          });
          return { to: request.address, data: encodeFunctionData(request) };
        });
      } catch (error) {
        if (error instanceof RailUnavailableError && error.status !== 502)
          return { status: 'refused', reason: 'rail_unavailable', message: error.message };
        throw error;
      }
      if (outcome.status === 'mined') return { status: 'sent', reference: outcome.hash };
      if (outcome.status === 'failed') return { status: 'refused', reason: outcome.reason, message: outcome.message };
      throw new RailUnavailableError(
        `Refund ${outcome.reference} was broadcast but not confirmed: ${outcome.message}`,
        { rail, status: 502, details: { reference: outcome.reference } },
      );
    },
  };
}
