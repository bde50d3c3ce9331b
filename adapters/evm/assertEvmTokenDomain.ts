import { domainSeparator, getAddress, type PublicClient } from 'viem';
import { getEip712Domain } from 'viem/actions';
import { ConfigurationError, RailUnavailableError, errorCodes } from '../../src/index';
import { rpcUnreachable } from './chain';
import type { EvmTokenConfig } from './serverCommon';

/** Parameters of {@link assertEvmTokenDomain}: the chain, and the token as the rail is configured with it. */
export type AssertEvmTokenDomainParameters = {
  publicClient: PublicClient;
  chainId: number;
  token: Pick<EvmTokenConfig, 'address' | 'name' | 'version'>;
  /** Rail id for error details (default `evm`). */
  rail?: string;
};

/**
 * Checks that the configured token `name`/`version` (and chain id) are the token's EIP-712 domain on chain, so a
 * wrong name fails here, clearly, instead of verifying payments that then revert at settlement. Reads the domain
 * with EIP-5267 `eip712Domain()`, or, for tokens without it (USDC v2), compares `DOMAIN_SEPARATOR()` with the
 * separator computed from the configuration. Throws a ConfigurationError (`CONFIG__EIP712__DOMAIN_MISMATCH`,
 * "EIP-712 domain mismatch: …") on a mismatch or a token that exposes neither, RailUnavailableError when the RPC
 * cannot be reached. The EVM server rails run it once before their first verify or settle; the CLI facilitator
 * runs it at start.
 *
 * @example await assertEvmTokenDomain({ publicClient, chainId: 8453, token: { address: usdc, name: 'USD Coin', version: '2' } });
 */
export async function assertEvmTokenDomain(p: AssertEvmTokenDomainParameters): Promise<void> {
  const rail = p.rail ?? 'evm';
  const address = getAddress(p.token.address);
  const configured = `{name: ${JSON.stringify(p.token.name)}, version: ${JSON.stringify(p.token.version)}, chainId: ${p.chainId}}`;
  const mismatch = (reports: string) =>
    new ConfigurationError(
      `EIP-712 domain mismatch: configured ${configured} for token ${address}, token reports ${reports}. Set the token's name and version exactly as its EIP-712 domain has them: payments signed over another domain would verify and then revert at settlement.`,
      {
        code: errorCodes.CONFIG_EIP712_DOMAIN_MISMATCH,
        details: { token: address, name: p.token.name, version: p.token.version, chainId: p.chainId },
      },
    );
  let eip5267: unknown;
  try {
    const { domain } = await getEip712Domain(p.publicClient, { address });
    if (
      domain.name !== p.token.name ||
      domain.version !== p.token.version ||
      domain.chainId !== p.chainId ||
      !sameAddress(domain.verifyingContract, address)
    ) {
      throw mismatch(
        `{name: ${JSON.stringify(domain.name)}, version: ${JSON.stringify(domain.version)}, chainId: ${domain.chainId}, verifyingContract: ${domain.verifyingContract}}`,
      );
    }
    return;
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    if (rpcUnreachable(error))
      throw new RailUnavailableError(
        "The EVM RPC failed while reading the token's EIP-712 domain. Try again shortly.",
        { cause: error, rail },
      );
    eip5267 = error;
  }
  let separator: `0x${string}`;
  try {
    separator = await p.publicClient.readContract({
      address,
      abi: domainSeparatorAbi,
      functionName: 'DOMAIN_SEPARATOR',
    });
  } catch (error) {
    if (rpcUnreachable(error))
      throw new RailUnavailableError(
        "The EVM RPC failed while reading the token's DOMAIN_SEPARATOR(). Try again shortly.",
        { cause: error, rail },
      );
    throw new ConfigurationError(
      `EIP-712 domain mismatch: token ${address} exposes neither eip712Domain() (EIP-5267) nor DOMAIN_SEPARATOR(), so configured ${configured} cannot be checked; is it the EIP-3009/EIP-2612 token on chain ${p.chainId}?`,
      { code: errorCodes.CONFIG_EIP712_DOMAIN_MISMATCH, cause: eip5267, details: { token: address } },
    );
  }
  const expected = domainSeparator({
    domain: { name: p.token.name, version: p.token.version, chainId: p.chainId, verifyingContract: address },
  });
  if (separator.toLowerCase() !== expected.toLowerCase())
    throw mismatch(`DOMAIN_SEPARATOR() ${separator}, not ${expected} computed from the configuration`);
}

const domainSeparatorAbi = [
  { type: 'function', name: 'DOMAIN_SEPARATOR', stateMutability: 'view', inputs: [], outputs: [{ type: 'bytes32' }] },
] as const;

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The once-per-rail form of {@link assertEvmTokenDomain}: the first call runs the check; success and a mismatch are
 * kept (later calls answer at once, off the hot path), an unreachable RPC is not (the next call tries again).
 *
 * @example const domainChecked = tokenDomainCheck({ publicClient, chainId, token, rail: 'evm-eip3009' }); await domainChecked();
 */
export function tokenDomainCheck(p: AssertEvmTokenDomainParameters & { enabled?: boolean }): () => Promise<void> {
  if (p.enabled === false) return async () => undefined;
  let checked = false;
  let running: Promise<void> | undefined;
  return async () => {
    if (checked) return;
    running ??= assertEvmTokenDomain(p).then(
      () => {
        checked = true;
      },
      (error: unknown) => {
        if (!(error instanceof ConfigurationError)) running = undefined;
        throw error;
      },
    );
    return running;
  };
}
