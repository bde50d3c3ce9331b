import type { PaymentRequirements } from '../../protocol/schemas';
import { formatUnits, type OfferView } from '../pageData';
import { toHex } from './bytes';
import { describeWalletError, PageFailure } from './failures';

/** An injected EIP-1193 provider (`window.ethereum`). */
export type Eip1193Provider = {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
};

/** Seconds an authorization is valid before now: clock skew between the wallet's machine and the chain. */
const VALIDITY_MARGIN_SECONDS = 600;

/** The injected provider, if any. */
export function injectedProvider(): Eip1193Provider | undefined {
  const candidate = (globalThis as { ethereum?: unknown }).ethereum;
  return typeof candidate === 'object' &&
    candidate !== null &&
    typeof (candidate as Eip1193Provider).request === 'function'
    ? (candidate as Eip1193Provider)
    : undefined;
}

async function ask<T>(provider: Eip1193Provider, action: string, method: string, params?: unknown[]): Promise<T> {
  try {
    return (await provider.request(params === undefined ? { method } : { method, params })) as T;
  } catch (error) {
    throw new PageFailure(describeWalletError(error, action));
  }
}

/** A connected wallet on the offer's chain, holding at least the offer's amount. */
export type ConnectedEvmWallet = { provider: Eip1193Provider; from: string; chainId: number };

/**
 * Connects the injected wallet for an EVM offer: asks for an account, asks the wallet to switch to the offer's
 * chain when it is on another one, and checks the token balance covers the offer's amount (for `upto`, the
 * maximum). Throws {@link PageFailure} in words.
 */
export async function connectEvm(
  offer: PaymentRequirements,
  view: OfferView,
  progress: (text: string) => void,
): Promise<ConnectedEvmWallet> {
  const provider = injectedProvider();
  if (!provider)
    throw new PageFailure(
      'No Ethereum wallet found in this browser. Install one (MetaMask, Rabby, Coinbase Wallet…) and reload, or choose another way to pay.',
    );
  const chainId = view.chainId ?? 0;
  progress('Connecting to your wallet…');
  const accounts = await ask<string[]>(provider, 'connection', 'eth_requestAccounts');
  const from = accounts[0];
  if (typeof from !== 'string') throw new PageFailure('Your wallet shared no account with this page.');
  const current = Number.parseInt(await ask<string>(provider, 'network check', 'eth_chainId'), 16);
  if (current !== chainId) {
    progress(
      `Your wallet is on chain ${current}; this offer is on ${view.networkName} (chain ${chainId}). Asking your wallet to switch…`,
    );
    await ask(provider, `switch to ${view.networkName}`, 'wallet_switchEthereumChain', [
      { chainId: `0x${chainId.toString(16)}` },
    ]);
    const after = Number.parseInt(await ask<string>(provider, 'network check', 'eth_chainId'), 16);
    if (after !== chainId)
      throw new PageFailure(
        `Your wallet is still on chain ${after}, not ${view.networkName} (chain ${chainId}). Switch it, then try again.`,
      );
  }
  const balance = await readUint(provider, offer.asset, `0x70a08231${word(from)}`, 'balance check');
  if (balance < BigInt(offer.amount)) {
    throw new PageFailure(
      `Insufficient balance: your account ${short(from)} holds ${formatAtomic(balance, view)}, the price is ${view.amountText}. Nothing was charged.`,
    );
  }
  return { provider, from, chainId };
}

/** Reads a uint256 view function of `to` (`data`: selector and arguments) through the wallet's RPC. */
export async function readUint(provider: Eip1193Provider, to: string, data: string, action: string): Promise<bigint> {
  const hex = await ask<string>(provider, action, 'eth_call', [{ to, data }, 'latest']);
  return BigInt(hex === '0x' ? 0 : hex);
}

/** An address as an ABI word (lowercase hex, no 0x, 64 digits). */
export function word(address: string): string {
  return address.slice(2).toLowerCase().padStart(64, '0');
}

/** Has the wallet sign EIP-712 typed data (`eth_signTypedData_v4`); a refusal becomes {@link PageFailure}. */
export function signTypedData(wallet: ConnectedEvmWallet, typedData: unknown, action = 'signature'): Promise<string> {
  return ask<string>(wallet.provider, action, 'eth_signTypedData_v4', [wallet.from, JSON.stringify(typedData)]);
}

/**
 * Pays an EVM `exact` (EIP-3009) offer from an injected wallet ({@link connectEvm}), then has the wallet sign the
 * `TransferWithAuthorization` typed data (eth_signTypedData_v4) for exactly the offer. Returns the x402 payload.
 */
export async function payEvm(
  offer: PaymentRequirements,
  view: OfferView,
  progress: (text: string) => void,
): Promise<Record<string, unknown>> {
  const wallet = await connectEvm(offer, view, progress);
  const { from, chainId } = wallet;
  const now = Math.floor(Date.now() / 1000);
  const authorization = {
    from,
    to: offer.payTo,
    value: offer.amount,
    validAfter: String(now - VALIDITY_MARGIN_SECONDS),
    validBefore: String(now + offer.maxTimeoutSeconds),
    nonce: `0x${toHex(crypto.getRandomValues(new Uint8Array(32)))}`,
  };
  const typedData = {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      TransferWithAuthorization: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType: 'TransferWithAuthorization',
    domain: {
      name: String(offer.extra.name),
      version: String(offer.extra.version),
      chainId,
      verifyingContract: offer.asset,
    },
    message: authorization,
  };
  progress(`Confirm the payment of ${view.amountText} in your wallet…`);
  const signature = await signTypedData(wallet, typedData);
  return { signature, authorization };
}

export function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function formatAtomic(amount: bigint, view: OfferView): string {
  return `${formatUnits(amount.toString(), view.decimals)} ${view.symbol}`;
}
