/**
 * What the server hands the paywall page (embedded as JSON in the HTML) and the page script reads: the
 * challenge itself plus everything needed to show it to a person (human amounts, names) and to pay it
 * (chain ids, RPC endpoints, the invoice status and JWKS URLs). Shared by the renderer and the page bundle,
 * so it holds types and pure helpers only.
 */
import type { PaymentRequired } from '../protocol/schemas';

/** Colours of the page (any CSS colour). Defaults keep WCAG AA contrast; choose yours to keep it too. */
export type PaywallColors = {
  accent?: string;
  accentText?: string;
  background?: string;
  surface?: string;
  text?: string;
  muted?: string;
};

/** Look of the page for a route: title, description, logo (an https: or data: URL), colours. */
export type PaywallTheme = { title?: string; description?: string; logoUrl?: string; colors?: PaywallColors };

/** How to show an asset: symbol and decimals (`USDC`, 6). */
export type AssetDisplay = { symbol: string; decimals: number };

/**
 * Which payment flow of the page pays an offer: EVM EIP-3009, EVM Permit2 (`exact` with
 * `assetTransferMethod: "permit2"`), EVM `upto` (Permit2, charged after serving), Solana, Lightning. `none`: listed,
 * but only an x402 client can pay it.
 */
export type OfferFlow = 'evm-eip3009' | 'evm-permit2' | 'evm-upto' | 'solana' | 'lightning' | 'none';

/** One offer as the page shows it, in the server's order (`index` into `paymentRequired.accepts`). */
export type OfferView = {
  index: number;
  flow: OfferFlow;
  /** "USDC on Base", "Lightning", … */
  title: string;
  /** "0.01 USDC", "21 sat", "up to 0.05 USDC" (`upto`: the maximum; the receipt says what was charged). */
  amountText: string;
  /** The network as a person reads it. */
  networkName: string;
  decimals: number;
  symbol: string;
  /** EVM chain id (EVM offers). */
  chainId?: number;
  /** JSON-RPC endpoint the page reads the chain through (Solana: blockhash, mint, balance). */
  rpcUrl?: string;
  /** Why `flow` is `none`, in words. */
  note?: string;
};

/** Everything the page script needs; embedded in the page as `<script type="application/json" id="x402-page-data">`. */
export type PageData = {
  paymentRequired: PaymentRequired;
  offers: OfferView[];
  /** The request being paid for: the page retries it with the payment. */
  method: string;
  url: string;
  jwksUrl: string;
  /** Where the page asks whether a Lightning invoice was paid (absent: no Lightning flow). */
  invoiceStatusUrl?: string;
  /** Milliseconds since the epoch when the page was made (offer expiry countdowns). */
  issuedAt: number;
};

/** Element id of the embedded {@link PageData}. */
export const PAGE_DATA_ID = 'x402-page-data';

/** Path (under the paywall's origin) of the invoice status endpoint the page polls. */
export const INVOICE_STATUS_PATH = '/.well-known/x402-rails/paywall/invoice-status';

/**
 * An atomic amount (decimal string) in units of `decimals`, without trailing zeros: `formatUnits('10000', 6)`
 * is `'0.01'`. Exact (string arithmetic), never a float.
 *
 * @example formatUnits('1500000', 6) // '1.5'
 */
export function formatUnits(amount: string, decimals: number): string {
  if (!/^[0-9]+$/.test(amount)) return amount;
  const digits = amount.replace(/^0+(?=.)/, '');
  if (decimals <= 0) return digits;
  const padded = digits.padStart(decimals + 1, '0');
  const whole = padded.slice(0, -decimals);
  const fraction = padded.slice(-decimals).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}
