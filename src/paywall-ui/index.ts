/**
 * x402-rails/paywall: the payment page for people. A browser opening a paid URL gets a small self-contained
 * HTML page (inline script and style, no CDN) instead of the JSON 402, listing every offer with human amounts
 * and paying it from an EIP-1193 wallet, a Wallet Standard Solana wallet, or a Lightning invoice; agents get
 * the 402 unchanged.
 */
export { withPaywallPage, type PaywallPageOptions } from './paywallPage';
export {
  renderPaywallPage,
  type RenderPaywallPageParameters,
  type RenderPaywallPageReturnType,
} from './renderPaywallPage';
export { offerViews, type OfferViewOptions } from './offerViews';
export { prefersHtml } from './prefersHtml';
export { hasInvoiceStatus, type InvoiceStatus, type InvoiceStatusSource } from './invoiceStatus';
export {
  formatUnits,
  INVOICE_STATUS_PATH,
  PAGE_DATA_ID,
  type AssetDisplay,
  type OfferFlow,
  type OfferView,
  type PageData,
  type PaywallColors,
  type PaywallTheme,
} from './pageData';
