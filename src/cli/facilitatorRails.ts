import { X402RailsError, type ServerRail } from '../index';
import { CliError } from './errors';

/** Settings of the facilitator's EVM rails, named as the environment variables. */
export type FacilitatorEnv = {
  X402_EVM_RPC_URL?: string;
  /** Gas account that submits settlements (its own variable: `X402_EVM_PRIVATE_KEY` is the payer of `pay`). */
  X402_FACILITATOR_EVM_PRIVATE_KEY?: string;
  /** @deprecated The gas account before `X402_FACILITATOR_EVM_PRIVATE_KEY`; still read when that one is unset. */
  X402_EVM_PRIVATE_KEY?: string;
  X402_EVM_TOKEN_ADDRESS?: string;
  /** EIP-712 domain name/version of the token; read from the token (EIP-5267 `eip712Domain`) when unset. */
  X402_EVM_TOKEN_NAME?: string;
  X402_EVM_TOKEN_VERSION?: string;
  /** Chain id; read from the RPC when unset. */
  X402_EVM_CHAIN_ID?: string;
  /**
   * The one payee EIP-2612 permits are settled to. EIP-2612 is offered only when this is set: a permit binds a
   * spender (the gas account), not a payee, so the facilitator's spender pays exactly this address.
   */
  X402_EVM_EIP2612_PAYEE?: string;
};

/** The facilitator's rails and the signer addresses it publishes in `/supported`. */
export type FacilitatorRails = {
  rails: ServerRail[];
  signers: Record<string, string[]>;
  describe: string[];
  /** Notes for stderr (a deprecated setting in use). */
  notes: string[];
};

/**
 * Builds the facilitator's EVM rails from the environment: EIP-3009 over one token, and EIP-2612 only when
 * `X402_EVM_EIP2612_PAYEE` names the one payee its spender is bound to. Reads the chain id and the token's EIP-712
 * domain from the chain when not given, and checks a given name/version against the token's domain (a mismatch
 * stops the start). Key material never reaches messages.
 *
 * @example const { rails } = await facilitatorRailsFromEnv(process.env);
 */
export async function facilitatorRailsFromEnv(env: FacilitatorEnv): Promise<FacilitatorRails> {
  const rpcUrl = env.X402_EVM_RPC_URL;
  const notes: string[] = [];
  let keyVar = 'X402_FACILITATOR_EVM_PRIVATE_KEY';
  let key = env.X402_FACILITATOR_EVM_PRIVATE_KEY?.trim();
  if (!key && env.X402_EVM_PRIVATE_KEY?.trim()) {
    keyVar = 'X402_EVM_PRIVATE_KEY';
    key = env.X402_EVM_PRIVATE_KEY.trim();
    notes.push(
      "Deprecated: X402_EVM_PRIVATE_KEY as the facilitator's gas account; set X402_FACILITATOR_EVM_PRIVATE_KEY instead (X402_EVM_PRIVATE_KEY is the payer wallet of `x402-rails pay`).",
    );
  }
  const token = env.X402_EVM_TOKEN_ADDRESS?.trim();
  const missing = [
    ['X402_EVM_RPC_URL', rpcUrl],
    [keyVar, key],
    ['X402_EVM_TOKEN_ADDRESS', token],
  ]
    .filter(([, v]) => !v)
    .map(([n]) => n);
  if (missing.length > 0)
    throw new CliError(
      `The facilitator needs an EVM rail: set ${missing.join(', ')} (and optionally X402_EVM_TOKEN_NAME, X402_EVM_TOKEN_VERSION, X402_EVM_CHAIN_ID).`,
    );
  const hexKey = key!.startsWith('0x') ? key! : `0x${key!}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hexKey))
    throw new CliError(`${keyVar} is not a private key: expected 32 bytes of hex (0x + 64 hex digits).`);
  if (!/^0x[0-9a-fA-F]{40}$/.test(token!))
    throw new CliError('X402_EVM_TOKEN_ADDRESS is not an address (0x + 40 hex digits).');
  if (!/^https?:\/\//i.test(rpcUrl!)) throw new CliError('X402_EVM_RPC_URL must be an http(s) URL.');
  const permitPayee = env.X402_EVM_EIP2612_PAYEE?.trim() || undefined;
  if (permitPayee !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(permitPayee))
    throw new CliError('X402_EVM_EIP2612_PAYEE is not an address (0x + 40 hex digits).');

  const [viem, { privateKeyToAccount }, { getEip712Domain }, evm] = await Promise.all([
    import('viem'),
    import('viem/accounts'),
    import('viem/actions'),
    import('../../adapters/evm/index'),
  ]);
  const probe = viem.createPublicClient({ transport: viem.http(rpcUrl) });
  let chainId: number;
  if (env.X402_EVM_CHAIN_ID !== undefined && env.X402_EVM_CHAIN_ID !== '') {
    if (!/^\d{1,12}$/.test(env.X402_EVM_CHAIN_ID)) throw new CliError('X402_EVM_CHAIN_ID is not a chain id.');
    chainId = Number(env.X402_EVM_CHAIN_ID);
  } else {
    try {
      chainId = await probe.getChainId();
    } catch {
      throw new CliError(`The EVM RPC at ${rpcUrl} does not answer eth_chainId; is the node running?`);
    }
  }
  let name = env.X402_EVM_TOKEN_NAME;
  let version = env.X402_EVM_TOKEN_VERSION;
  if (name === undefined || version === undefined) {
    try {
      const { domain } = await getEip712Domain(probe, { address: token as `0x${string}` });
      name ??= domain.name;
      version ??= domain.version;
    } catch {
      throw new CliError(
        "Could not read the token's EIP-712 domain (eip712Domain()); set X402_EVM_TOKEN_NAME and X402_EVM_TOKEN_VERSION.",
      );
    }
  }
  const chain = viem.defineChain({
    id: chainId,
    name: `eip155:${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl!] } },
  });
  const account = privateKeyToAccount(hexKey as `0x${string}`);
  const publicClient = viem.createPublicClient({ chain, transport: viem.http(rpcUrl) });
  const walletClient = viem.createWalletClient({ account, chain, transport: viem.http(rpcUrl) });
  const common = {
    publicClient,
    walletClient,
    chainId,
    token: { address: viem.getAddress(token!), name: name!, version: version! },
    payTo: account.address,
  };
  try {
    await evm.assertEvmTokenDomain({ publicClient, chainId, token: common.token });
  } catch (error) {
    if (error instanceof X402RailsError) throw new CliError(error.message);
    throw error;
  }
  // Permit2 (`exact` + permit2, with eip2612GasSponsoring) and `upto` bind the payee in the signed witness: any payee.
  const rails: ServerRail[] = [evm.evmEip3009Server(common), evm.evmPermit2Server(common), evm.evmUptoServer(common)];
  const describe = [
    `evm-eip3009 on eip155:${chainId}: token ${common.token.address} ("${name}" v${version}), gas account ${account.address}`,
    `evm-permit2 and evm-upto on eip155:${chainId}: through Permit2 ${evm.PERMIT2_ADDRESS} and the canonical x402 proxies, eip2612GasSponsoring accepted; upto settled only by ${account.address}`,
  ];
  if (permitPayee !== undefined) {
    rails.push(evm.evmEip2612Server({ ...common, payTo: viem.getAddress(permitPayee) }));
    describe.push(
      `evm-eip2612 on eip155:${chainId}: permits to spender ${account.address}, settled only to ${viem.getAddress(permitPayee)}`,
    );
  } else {
    describe.push(
      'evm-eip2612 not offered: set X402_EVM_EIP2612_PAYEE to the one payee its permits may pay (a permit binds a spender, not a payee)',
    );
  }
  return { rails, signers: { 'eip155:*': [account.address] }, describe, notes };
}
