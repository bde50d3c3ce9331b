import type { PaymentRequirements } from '../protocol/schemas';
import { formatUnits, type AssetDisplay, type OfferFlow, type OfferView } from './pageData';

/** What {@link offerViews} needs to name assets and reach chains. */
export type OfferViewOptions = {
  /** Symbol and decimals by asset (token address, case-insensitive, or mint). */
  assets?: Record<string, AssetDisplay>;
  /** Names of networks by CAIP-2 id (`eip155:8453` → `Base`). */
  networkNames?: Record<string, string>;
  /** Solana JSON-RPC endpoints by CAIP-2 network, reachable from the browser (CORS). */
  solanaRpcUrls?: Record<string, string>;
  /** True when the page can learn that a Lightning invoice was paid (an invoice status source is configured). */
  lightningStatus: boolean;
};

const SOLANA_NAMES: Record<string, string> = {
  'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp': 'Solana',
  'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1': 'Solana devnet',
  'solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z': 'Solana testnet',
};
const EVM_NAMES: Record<string, string> = {
  'eip155:1': 'Ethereum',
  'eip155:8453': 'Base',
  'eip155:84532': 'Base Sepolia',
  'eip155:31337': 'local chain 31337',
};
const LIGHTNING_NAMES: Record<string, string> = {
  'bip122:000000000019d6689c085ae165831e93': 'Lightning',
  'bip122:0f9188f13cb7b2c71f2a335e3a4fc328': 'Lightning (regtest)',
};

/**
 * The offers of a challenge as a person reads them, in the server's order: human amount (decimals and symbol;
 * Lightning in sat), network name, and the page flow that pays each (`none` with a note when the page cannot).
 *
 * @example offerViews(paymentRequired.accepts, { assets: { [usdc]: { symbol: 'USDC', decimals: 6 } }, lightningStatus: true })
 */
export function offerViews(accepts: readonly PaymentRequirements[], options: OfferViewOptions): OfferView[] {
  return accepts.map((req, index) => offerView(req, index, options));
}

function assetOf(req: PaymentRequirements, assets: Record<string, AssetDisplay>): AssetDisplay | undefined {
  const exact = assets[req.asset];
  if (exact) return exact;
  const lower = req.asset.toLowerCase();
  return Object.entries(assets).find(([k]) => k.toLowerCase() === lower)?.[1];
}

function shortAsset(asset: string): string {
  return asset.length > 12 ? `${asset.slice(0, 6)}…${asset.slice(-4)}` : asset;
}

/** The page flow of an EVM offer: EIP-3009 and Permit2 `exact`, and `upto` naming its facilitator; else none. */
function evmFlowOf(req: PaymentRequirements): OfferFlow {
  const method = req.extra.assetTransferMethod;
  if (req.scheme === 'exact' && (method === undefined || method === 'eip3009')) return 'evm-eip3009';
  if (req.scheme === 'exact' && method === 'permit2') return 'evm-permit2';
  if (req.scheme === 'upto' && typeof req.extra.facilitatorAddress === 'string') return 'evm-upto';
  return 'none';
}

function offerView(req: PaymentRequirements, index: number, options: OfferViewOptions): OfferView {
  const named = options.networkNames?.[req.network];
  if (req.network.startsWith('bip122:') && req.asset === 'msat') {
    const payable =
      options.lightningStatus && typeof req.extra.invoice === 'string' && typeof req.extra.macaroon === 'string';
    const networkName = named ?? LIGHTNING_NAMES[req.network] ?? 'Lightning';
    return {
      index,
      flow: payable ? 'lightning' : 'none',
      title: `Bitcoin on ${networkName}`,
      amountText: `${formatUnits(req.amount, 3)} sat`,
      networkName,
      decimals: 3,
      symbol: 'sat',
      ...(payable
        ? {}
        : { note: 'This server does not tell the page when an invoice is paid; pay with an L402 client.' }),
    };
  }
  const asset = assetOf(req, options.assets ?? {});
  const amountText = asset
    ? `${formatUnits(req.amount, asset.decimals)} ${asset.symbol}`
    : `${req.amount} units of ${shortAsset(req.asset)}`;
  const base = { index, amountText, decimals: asset?.decimals ?? 0, symbol: asset?.symbol ?? shortAsset(req.asset) };
  if (req.network.startsWith('eip155:')) {
    const chainId = Number(req.network.slice('eip155:'.length));
    const networkName = named ?? EVM_NAMES[req.network] ?? `EVM chain ${chainId}`;
    const method = req.extra.assetTransferMethod;
    const flow = evmFlowOf(req);
    const upto = req.scheme === 'upto';
    return {
      ...base,
      ...(upto ? { amountText: `up to ${base.amountText}` } : {}),
      flow,
      title: `${base.symbol} on ${networkName}${upto ? ' (charged by use, Permit2)' : method === 'eip2612' ? ' (permit)' : method === 'permit2' ? ' (Permit2)' : ''}`,
      networkName,
      chainId,
      ...(flow !== 'none'
        ? {}
        : { note: 'This offer is paid by an x402 client (the page pays EIP-3009, Permit2 and upto offers).' }),
    };
  }
  if (req.network.startsWith('solana:')) {
    const networkName = named ?? SOLANA_NAMES[req.network] ?? 'Solana';
    const rpcUrl = options.solanaRpcUrls?.[req.network];
    const payable = req.scheme === 'exact' && rpcUrl !== undefined && typeof req.extra.feePayer === 'string';
    return {
      ...base,
      flow: payable ? 'solana' : 'none',
      title: `${base.symbol} on ${networkName}`,
      networkName,
      ...(rpcUrl === undefined ? {} : { rpcUrl }),
      ...(payable ? {} : { note: 'The page has no Solana RPC endpoint for this network; pay with an x402 client.' }),
    };
  }
  return {
    ...base,
    flow: 'none',
    title: `${base.symbol} on ${named ?? req.network}`,
    networkName: named ?? req.network,
    note: 'Pay this offer with an x402 client.',
  };
}
