import {
  bytesToHex,
  createWalletClient,
  custom,
  encodeFunctionData,
  getAddress,
  hexToBigInt,
  isAddress,
  maxUint256,
  type Address,
  type Hex,
} from 'viem';
import {
  ConfigurationError,
  PaymentInvalidError,
  RailUnavailableError,
  defineClientRail,
  evmChainId,
  type ConfirmingClientRail,
  type CreatePaymentContext,
  type PaymentRequirements,
  type Wallet,
} from '../../src/index';
import { exactTokenAbi, permitTypes } from './abi';
import { confirmEvmTransfer } from './confirmEvmTransfer';
import {
  PERMIT2_ADDRESS,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
  exactPermit2WitnessTypes,
  uptoPermit2WitnessTypes,
} from './permit2Abi';
import { EIP2612_GAS_SPONSORING } from './permit2Common';
import { domainOf, transferMethodOf } from './requirements';
import { isEvmWallet, type EvmWallet } from './wallet';

/** Parameters of {@link evmPermit2Client} and {@link evmUptoClient}. */
export type EvmPermit2ClientParameters = {
  /**
   * When the payer has not approved Permit2 for the token and the server offers no `eip2612GasSponsoring`: send one
   * `approve(Permit2, max)` transaction from the payer (it costs the payer gas and lets Permit2 move the token with
   * the payer's signatures from then on). Default false: such an offer is refused with `permit2_allowance_required`.
   */
  approvePermit2?: boolean;
};

/**
 * Client rail for x402 `exact` on EVM with `extra.assetTransferMethod = "permit2"` (x402 standard, wire-identical to
 * the official client): signs a Permit2 witness transfer of exactly `amount` to `payTo` through the canonical
 * `x402ExactPermit2Proxy`, valid until `maxTimeoutSeconds` from now, with a random 256-bit Permit2 nonce. When
 * Permit2 is not approved yet it signs an EIP-2612 permit to Permit2 (`eip2612GasSponsoring`) if the 402 declares
 * that extension, else approves by transaction only when `approvePermit2` allows it.
 *
 * @example payingFetch(fetch, { adapters: [evmPermit2Client()], wallets: [evmWallet(account, { publicClient })] })
 */
export function evmPermit2Client(p: EvmPermit2ClientParameters = {}): ConfirmingClientRail {
  return defineClientRail({
    id: 'evm-permit2',
    walletKind: 'evm',
    supports: (req) =>
      req.scheme === 'exact' && req.network.startsWith('eip155:') && transferMethodOf(req) === 'permit2',
    confirmSettlement: confirmEvmTransfer,
    async createPayment(req, w, ctx) {
      const wallet = walletOf(w);
      const authorization = permit2Authorization(wallet, req, ctx, X402_EXACT_PERMIT2_PROXY_ADDRESS);
      const signature = await signTyped(wallet, {
        domain: permit2Domain(req),
        types: exactPermit2WitnessTypes,
        primaryType: 'PermitWitnessTransferFrom',
        message: { ...authorization.message, witness: { to: getAddress(req.payTo), validAfter: 0n } },
      });
      const extensions = await permit2Approval(wallet, req, ctx, authorization.deadline, p);
      return {
        signature,
        permit2Authorization: { ...authorization.wire, witness: { to: getAddress(req.payTo), validAfter: '0' } },
        ...(extensions ? { extensions } : {}),
      };
    },
  });
}

/**
 * Client rail for x402 `upto` on EVM (x402 standard): signs a Permit2 witness transfer of at most `amount` (the
 * offer's maximum; budgets and caps hold it whole) to `payTo`, settleable only by the facilitator the offer names
 * (`extra.facilitatorAddress`), through the canonical `x402UptoPermit2Proxy`. Approval as {@link evmPermit2Client}.
 *
 * @example payingFetch(fetch, { adapters: [evmUptoClient()], wallets: [evmWallet(account, { publicClient })] })
 */
export function evmUptoClient(p: EvmPermit2ClientParameters = {}): ConfirmingClientRail {
  return defineClientRail({
    id: 'evm-upto',
    walletKind: 'evm',
    supports: (req) => req.scheme === 'upto' && req.network.startsWith('eip155:'),
    // The settlement moves what the server charged, at most the maximum.
    confirmSettlement: (p, wallet) => confirmEvmTransfer(p, wallet, 'atMost'),
    async createPayment(req, w, ctx) {
      const wallet = walletOf(w);
      const facilitator = req.extra.facilitatorAddress;
      if (typeof facilitator !== 'string' || !isAddress(facilitator, { strict: false })) {
        throw new PaymentInvalidError(
          'invalid_requirements',
          'An upto offer must name the facilitator that settles it (extra.facilitatorAddress).',
        );
      }
      const authorization = permit2Authorization(wallet, req, ctx, X402_UPTO_PERMIT2_PROXY_ADDRESS);
      const witness = { to: getAddress(req.payTo), facilitator: getAddress(facilitator), validAfter: 0n };
      const signature = await signTyped(wallet, {
        domain: permit2Domain(req),
        types: uptoPermit2WitnessTypes,
        primaryType: 'PermitWitnessTransferFrom',
        message: { ...authorization.message, witness },
      });
      const extensions = await permit2Approval(wallet, req, ctx, authorization.deadline, p);
      return {
        signature,
        permit2Authorization: { ...authorization.wire, witness: { ...witness, validAfter: '0' } },
        ...(extensions ? { extensions } : {}),
      };
    },
  });
}

function walletOf(wallet: Wallet): EvmWallet {
  if (!isEvmWallet(wallet)) throw new ConfigurationError('The EVM rail needs a wallet made by evmWallet().');
  return wallet;
}

function signTyped(
  wallet: EvmWallet,
  args: Parameters<NonNullable<EvmWallet['account']['signTypedData']>>[0],
): Promise<Hex> {
  const sign = wallet.account.signTypedData;
  if (!sign)
    throw new ConfigurationError(
      'The EVM wallet account cannot sign typed data; use a local or JSON-RPC account that can.',
    );
  return sign(args);
}

function permit2Domain(req: PaymentRequirements) {
  const chainId = evmChainId(req.network);
  if (chainId === undefined)
    throw new PaymentInvalidError('invalid_requirements', `The offer's network ${req.network} is not an EVM chain.`);
  return { name: 'Permit2', chainId, verifyingContract: PERMIT2_ADDRESS } as const;
}

/** The common part of a Permit2 authorization, as signed (bigints) and as sent (decimal strings). */
function permit2Authorization(
  wallet: EvmWallet,
  req: PaymentRequirements,
  ctx: CreatePaymentContext,
  spender: Address,
) {
  if (!isAddress(req.asset, { strict: false }))
    throw new PaymentInvalidError('invalid_requirements', 'The offer names no token address.');
  const nonce = hexToBigInt(bytesToHex(crypto.getRandomValues(new Uint8Array(32))));
  const deadline = BigInt(Math.floor(ctx.now / 1000) + req.maxTimeoutSeconds);
  const permitted = { token: getAddress(req.asset), amount: BigInt(req.amount) };
  return {
    deadline,
    message: { permitted, spender, nonce, deadline },
    wire: {
      from: wallet.address,
      permitted: { token: permitted.token, amount: permitted.amount.toString() },
      spender,
      nonce: nonce.toString(),
      deadline: deadline.toString(),
    },
  };
}

/**
 * What the payment needs for Permit2 to move `amount`: nothing when the allowance suffices; the
 * `eip2612GasSponsoring` extension (a signed EIP-2612 permit of `amount` to Permit2) when the 402 declares it and
 * the offer names the token's domain; else an approval transaction when the client allows it, or a refusal.
 */
async function permit2Approval(
  wallet: EvmWallet,
  req: PaymentRequirements,
  ctx: CreatePaymentContext,
  deadline: bigint,
  p: EvmPermit2ClientParameters,
): Promise<Record<string, unknown> | undefined> {
  const publicClient = wallet.publicClient;
  if (!publicClient)
    throw new ConfigurationError(
      'Permit2 payments read the Permit2 allowance from the chain: give evmWallet() a publicClient.',
    );
  const token = getAddress(req.asset);
  const amount = BigInt(req.amount);
  const allowance = await chainRead('the Permit2 allowance', () =>
    publicClient.readContract({
      address: token,
      abi: exactTokenAbi,
      functionName: 'allowance',
      args: [wallet.address, PERMIT2_ADDRESS],
    }),
  );
  if (allowance >= amount) return undefined;
  const domain = domainOf(req);
  if (ctx.extensions?.[EIP2612_GAS_SPONSORING] !== undefined && domain) {
    const nonce = await chainRead('the permit nonce', () =>
      publicClient.readContract({ address: token, abi: exactTokenAbi, functionName: 'nonces', args: [wallet.address] }),
    );
    const message = { owner: wallet.address, spender: PERMIT2_ADDRESS, value: amount, nonce, deadline };
    const signature = await signTyped(wallet, { domain, types: permitTypes, primaryType: 'Permit', message });
    const info = {
      from: wallet.address,
      asset: token,
      spender: PERMIT2_ADDRESS,
      amount: amount.toString(),
      nonce: nonce.toString(),
      deadline: deadline.toString(),
      signature,
      version: '1',
    };
    // Echo the server's declaration with the permit's fields added (as the official client merges them): an
    // official server refuses an echo that drops a field it declared.
    const declared = ctx.extensions[EIP2612_GAS_SPONSORING];
    const declaredRecord = isRecord(declared) ? declared : {};
    const declaredInfo = isRecord(declaredRecord.info) ? declaredRecord.info : {};
    return { [EIP2612_GAS_SPONSORING]: { ...declaredRecord, info: { ...declaredInfo, ...info } } };
  }
  if (!p.approvePermit2) {
    throw new PaymentInvalidError(
      'permit2_allowance_required',
      `Paying with Permit2 needs a one-time approval of Permit2 (${PERMIT2_ADDRESS}) for ${token}, and the server offers no gas-sponsored permit: approve it, or allow approvePermit2.`,
    );
  }
  const walletClient = createWalletClient({
    account: wallet.account,
    chain: publicClient.chain,
    transport: custom({ request: publicClient.request }),
  });
  const hash = await chainRead('the Permit2 approval', () =>
    walletClient.sendTransaction({
      account: wallet.account,
      chain: publicClient.chain ?? null,
      to: token,
      data: encodeFunctionData({ abi: exactTokenAbi, functionName: 'approve', args: [PERMIT2_ADDRESS, maxUint256] }),
    }),
  );
  const receipt = await chainRead('the Permit2 approval receipt', () =>
    publicClient.waitForTransactionReceipt({ hash }),
  );
  if (receipt.status !== 'success')
    throw new PaymentInvalidError('permit2_allowance_required', `The approval of Permit2 (${hash}) reverted.`);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function chainRead<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new RailUnavailableError(`Could not read or send ${what} on chain.`, { cause, rail: 'evm-permit2' });
  }
}
