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
 * listed before a standard offer of the same scheme and network moves to just after the last such offer. An official
 * x402 client takes the first `exact` offer of its network and signs EIP-3009 whatever `assetTransferMethod` says, so
 * a permit offer listed first would make it sign something the server must refuse. Returns indexes into `offers`.
 */
export function offerOrder(offers: readonly PaymentRequirements[]): number[] {
  // Where each offer goes: after the last standard offer of its kind when it is an extension offer listed before it.
  const after = offers.map((offer, i) => {
    if (!isExtensionOffer(offer)) return i;
    const last = offers.findLastIndex(
      (o) => o.scheme === offer.scheme && o.network === offer.network && !isExtensionOffer(o),
    );
    return Math.max(last, i);
  });
  const order: number[] = [];
  after.forEach((target, i) => {
    if (target === i) order.push(i);
    after.forEach((t, j) => {
      if (t === i && j !== i) order.push(j);
    });
  });
  return order;
}
