import { PaymentInvalidError, type OfferRejection } from './errors';
import { policyRejection, type SpendingPolicy } from './policy';
import { hasAuthorizedAddresses, type AuthorizedAddress, type ClientRail, type Wallet } from './rail';
import type { PaymentRequirements } from '../protocol/schemas';

/** An offer this client can pay: the offer, its index in `accepts`, the rail and the wallet. */
export type Candidate = { index: number; offer: PaymentRequirements; rail: ClientRail; wallet: Wallet };

/** Orders candidates: rail ids / networks listed first win, or a comparator. Default: the server's order. */
export type Preference = string[] | ((a: Candidate, b: Candidate) => number);

/** Parameters of {@link negotiate}. */
export type NegotiateParameters = {
  offers: PaymentRequirements[];
  rails: ClientRail[];
  wallets: Wallet[];
  policy: SpendingPolicy;
  origin: string;
  prefer?: Preference;
};

/**
 * Negotiation: keep the offers for which this client has a rail and a wallet, drop those the policy
 * forbids (every address the rail's payment would authorize — `payTo`, an EIP-2612 spender — passes the payee lists), then order by the client's preference (default: the server's order). Returns the candidates
 * best first and, for every offer dropped, why.
 */
export function negotiate(p: NegotiateParameters): { candidates: Candidate[]; rejections: OfferRejection[] } {
  const candidates: Candidate[] = [];
  const rejections: OfferRejection[] = [];
  p.offers.forEach((offer, index) => {
    const method = offer.extra?.['assetTransferMethod'];
    const reject = (reason: string, message: string) =>
      rejections.push({
        index,
        scheme: offer.scheme,
        ...(typeof method === 'string' ? { assetTransferMethod: method } : {}),
        network: offer.network,
        asset: offer.asset,
        amount: offer.amount,
        reason,
        message,
      });
    const rails = p.rails.filter((r) => r.supports(offer));
    if (rails.length === 0)
      return reject('no_adapter', 'no rail adapter of this client supports this scheme and network');
    const pair = rails
      .map((rail) => ({ rail, wallet: p.wallets.find((w) => w.kind === rail.walletKind) }))
      .find((x) => x.wallet);
    if (!pair?.wallet)
      return reject('no_wallet', `no wallet of kind ${rails.map((r) => r.walletKind).join('/')} is configured`);
    let authorized: AuthorizedAddress[] = [{ role: 'payee', address: offer.payTo }];
    if (hasAuthorizedAddresses(pair.rail)) {
      try {
        authorized = pair.rail.authorizedAddresses(offer);
      } catch (error) {
        if (!(error instanceof PaymentInvalidError)) throw error;
        return reject(error.reason, error.message);
      }
    }
    const refused = policyRejection(p.policy, offer, p.origin, authorized);
    if (refused) return reject(refused.reason, refused.message);
    candidates.push({ index, offer, rail: pair.rail, wallet: pair.wallet });
  });
  return { candidates: sortByPreference(candidates, p.prefer), rejections };
}

function sortByPreference(candidates: Candidate[], prefer: Preference | undefined): Candidate[] {
  if (!prefer) return candidates;
  if (typeof prefer === 'function') return [...candidates].sort((a, b) => prefer(a, b) || a.index - b.index);
  const rank = (c: Candidate) => {
    const i = prefer.findIndex((p) => p === c.rail.id || p === c.offer.network || c.offer.network.startsWith(`${p}:`));
    return i === -1 ? prefer.length : i;
  };
  return [...candidates].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
}
