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
  const sameKind = (a: PaymentRequirements, b: PaymentRequirements) => a.scheme === b.scheme && a.network === b.network;
  const lastStandard = (offer: PaymentRequirements) =>
    offers.findLastIndex((other) => sameKind(other, offer) && !isExtensionOffer(other));
  const order: number[] = [];
  const deferred: number[] = [];
  offers.forEach((offer, i) => {
    if (isExtensionOffer(offer) && lastStandard(offer) > i) deferred.push(i);
    else order.push(i);
    // Emit the deferred extension offers right after the last standard offer of their kind.
    for (let d = 0; d < deferred.length; ) {
      const j = deferred[d] as number;
      if (lastStandard(offers[j] as PaymentRequirements) === i) {
        order.push(j);
        deferred.splice(d, 1);
      } else d++;
    }
  });
  return order;
}
