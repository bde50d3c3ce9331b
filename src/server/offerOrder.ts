import type { PaymentRequirements } from '../protocol/schemas';

/** `extra.assetTransferMethod` values the x402 standard defines for `exact` (absent means EIP-3009). */
const STANDARD_TRANSFER_METHODS = new Set([undefined, 'eip3009', 'permit2']);

/** An offer in this project's own extension of `exact` (today EIP-2612), which an official client does not read. */
function isExtensionOffer(offer: PaymentRequirements): boolean {
  const method = offer.extra?.assetTransferMethod;
  return offer.scheme === 'exact' && !STANDARD_TRANSFER_METHODS.has(typeof method === 'string' ? method : undefined);
}

/**
 * The order in which a 402 lists its offers: the route's own order, except that an offer in our `exact` extension
 * goes after the standard offers of the same scheme and network. An official x402 client takes the first `exact`
 * offer of its network and signs EIP-3009 whatever `assetTransferMethod` says, so a permit offer listed first would
 * make it sign something the server must refuse. Returns indexes into `offers` (a stable reordering).
 */
export function offerOrder(offers: readonly PaymentRequirements[]): number[] {
  const hasStandardSibling = (offer: PaymentRequirements) =>
    offers.some((other) => other.scheme === offer.scheme && other.network === offer.network && !isExtensionOffer(other));
  const rank = offers.map((offer) => (isExtensionOffer(offer) && hasStandardSibling(offer) ? 1 : 0));
  return offers.map((_, i) => i).sort((a, b) => (rank[a] ?? 0) - (rank[b] ?? 0) || a - b);
}
