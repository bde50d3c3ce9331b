import { bytesToHex, isAddress, type Address, type Hex } from 'viem';
import {
  ConfigurationError,
  PaymentInvalidError,
  RailUnavailableError,
  defineClientRail,
  type AuthorizingClientRail,
  type ClientRail,
  type ConfirmingClientRail,
  type MppClientRail,
  type PaymentRequirements,
  type Wallet,
} from '../../src/index';
import { exactTokenAbi, permitTypes, transferWithAuthorizationTypes } from './abi';
import { confirmEvmTransfer } from './confirmEvmTransfer';
import { domainOf, transferMethodOf } from './requirements';
import { isEvmWallet, type EvmWallet } from './wallet';
import { evmMppChargeClient, type EvmMppChargeClientOptions } from './mppCharge';

/** Seconds of slack on validity windows so clock skew between client, server and chain does not bite. */
export const VALIDITY_MARGIN_SECONDS = 600;

function walletOf(wallet: Wallet): EvmWallet {
  if (!isEvmWallet(wallet)) throw new ConfigurationError('The EVM rail needs a wallet made by evmWallet().');
  return wallet;
}

function domainOrThrow(req: PaymentRequirements) {
  const domain = domainOf(req);
  if (!domain)
    throw new PaymentInvalidError(
      'invalid_requirements',
      'The offer lacks the token EIP-712 domain (extra.name, extra.version) or a valid token address.',
    );
  return domain;
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

/**
 * Client rail for x402 `exact` on EVM with EIP-3009 `transferWithAuthorization`: signs an authorization
 * offline for exactly `amount` to `payTo`, valid from 10 minutes ago until `maxTimeoutSeconds` from now,
 * with a random 32-byte nonce. Wire-identical to the official x402 client. It pays MPP `evm`/`charge` challenges
 * too (see {@link evmMppChargeClient}; `options.domains` names token EIP-712 domains the challenge does not carry).
 *
 * @example payingFetch(fetch, { adapters: [evmEip3009Client()], wallets: [evmWallet(account)] })
 */
export function evmEip3009Client(options: EvmMppChargeClientOptions = {}): ConfirmingClientRail & MppClientRail {
  return defineClientRail({
    id: 'evm-eip3009',
    walletKind: 'evm',
    mpp: evmMppChargeClient(options),
    supports: (req) =>
      req.scheme === 'exact' && req.network.startsWith('eip155:') && transferMethodOf(req) === 'eip3009',
    confirmSettlement: confirmEvmTransfer,
    async createPayment(req, w, ctx) {
      const wallet = walletOf(w);
      const domain = domainOrThrow(req);
      const now = Math.floor(ctx.now / 1000);
      const authorization = {
        from: wallet.address,
        to: req.payTo as `0x${string}`,
        value: BigInt(req.amount),
        validAfter: BigInt(now - VALIDITY_MARGIN_SECONDS),
        validBefore: BigInt(now + req.maxTimeoutSeconds),
        nonce: bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
      };
      const signature = await signTyped(wallet, {
        domain,
        types: transferWithAuthorizationTypes,
        primaryType: 'TransferWithAuthorization',
        message: authorization,
      });
      return {
        signature,
        authorization: {
          ...authorization,
          value: authorization.value.toString(),
          validAfter: authorization.validAfter.toString(),
          validBefore: authorization.validBefore.toString(),
        },
      };
    },
  });
}

/**
 * Client rail for `exact` offers with `extra.assetTransferMethod = "eip2612"` (an x402-rails extension):
 * signs an EIP-2612 `permit` for exactly `amount` to the server's spender (`extra.spender`), reading the
 * owner's permit nonce from the chain. The permit lets the spender move the amount anywhere, so the rail names
 * both `payTo` and the spender in `authorizedAddresses`: the client's payee allow/deny lists apply to each.
 *
 * @example payingFetch(fetch, { adapters: [evmEip2612Client()], wallets: [evmWallet(account, { publicClient })] })
 */
export function evmEip2612Client(): AuthorizingClientRail & ConfirmingClientRail {
  return defineClientRail({
    id: 'evm-eip2612',
    walletKind: 'evm',
    supports: (req) =>
      req.scheme === 'exact' && req.network.startsWith('eip155:') && transferMethodOf(req) === 'eip2612',
    confirmSettlement: confirmEvmTransfer,
    authorizedAddresses: (req) => [
      { role: 'payee', address: req.payTo },
      { role: 'spender', address: spenderOf(req) },
    ],
    async createPayment(req, w, ctx) {
      const wallet = walletOf(w);
      const domain = domainOrThrow(req);
      const spender = spenderOf(req);
      if (!wallet.publicClient)
        throw new ConfigurationError(
          'EIP-2612 payments read the permit nonce from the chain: give evmWallet() a publicClient.',
        );
      let nonce: bigint;
      try {
        nonce = await wallet.publicClient.readContract({
          address: domain.verifyingContract,
          abi: exactTokenAbi,
          functionName: 'nonces',
          args: [wallet.address],
        });
      } catch (cause) {
        throw new RailUnavailableError('Could not read the permit nonce from the chain.', {
          cause,
          rail: 'evm-eip2612',
        });
      }
      const permit = {
        owner: wallet.address,
        spender,
        value: BigInt(req.amount),
        nonce,
        deadline: BigInt(Math.floor(ctx.now / 1000) + req.maxTimeoutSeconds),
      };
      const signature = await signTyped(wallet, { domain, types: permitTypes, primaryType: 'Permit', message: permit });
      return {
        signature,
        permit: {
          ...permit,
          value: permit.value.toString(),
          nonce: permit.nonce.toString(),
          deadline: permit.deadline.toString(),
        },
      };
    },
  });
}

/** The spender an EIP-2612 offer names (`extra.spender`, an address); throws PaymentInvalidError without one. */
function spenderOf(req: PaymentRequirements): Address {
  const spender = req.extra.spender;
  if (typeof spender !== 'string' || !isAddress(spender, { strict: false })) {
    throw new PaymentInvalidError(
      'invalid_requirements',
      'An EIP-2612 offer must name its spender (an address) in extra.spender.',
    );
  }
  return spender;
}

/** Both EVM client rails (EIP-3009 and EIP-2612). */
export function evmClients(): ClientRail[] {
  return [evmEip3009Client(), evmEip2612Client()];
}
