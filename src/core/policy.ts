import type { Budget } from '../client/budgetLedger';
import { assetMatches } from '../client/budgetLedger';
import type { PaymentRequirements } from '../protocol/schemas';

/** Allow and deny lists; deny wins; an empty or missing allow list allows all. */
export type AllowDeny = { allow?: string[]; deny?: string[] };

/**
 * A client's spending policy. Every check is by exact match (addresses compared case-insensitively).
 *
 * @example
 * const policy: SpendingPolicy = {
 *   networks: { allow: ['eip155:8453', 'bip122:000000000019d6689c085ae165831e93'] },
 *   maxPerRequest: { msat: 1_000_000n, 'eip155:8453/0x8335…2913': 50_000n },
 *   budgets: [{ asset: 'msat', limit: 10_000_000n, window: 'day' }],
 * };
 */
export type SpendingPolicy = {
  networks?: AllowDeny;
  /** Asset ids (`0x…`, mint, `msat`) or `network/asset`. */
  assets?: AllowDeny;
  payees?: AllowDeny;
  /** Origins (`https://api.example.com`) this client may pay. */
  origins?: AllowDeny;
  /** Most one request may cost, keyed by asset id or `network/asset`. Assets without an entry are uncapped unless `requireCap`. */
  maxPerRequest?: Record<string, bigint | string>;
  /** Refuse assets that have no `maxPerRequest` entry. */
  requireCap?: boolean;
  /** Rolling and total budgets, reserved atomically. */
  budgets?: Budget[];
};

/** Why the policy refuses an offer, or undefined when it allows it. */
export function policyRejection(policy: SpendingPolicy, offer: PaymentRequirements, origin: string): { reason: string; message: string } | undefined {
  const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const listed = (list: string[] | undefined, value: string, match = eq) => (list ?? []).some((entry) => match(entry, value));
  const assetMatch = (entry: string, _value: string) => assetMatches(entry, offer.network, offer.asset);
  const checks: Array<[AllowDeny | undefined, string, string, (a: string, b: string) => boolean]> = [
    [policy.origins, origin, 'origin', eq],
    [policy.networks, offer.network, 'network', eq],
    [policy.assets, offer.asset, 'asset', assetMatch],
    [policy.payees, offer.payTo, 'payee', eq],
  ];
  for (const [lists, value, what, match] of checks) {
    if (!lists) continue;
    if (listed(lists.deny, value, match)) return { reason: `${what}_denied`, message: `the policy denies ${what} ${value}` };
    if (lists.allow && lists.allow.length > 0 && !listed(lists.allow, value, match)) {
      return { reason: `${what}_not_allowed`, message: `${what} ${value} is not on the policy's allow list` };
    }
  }
  const capEntry = Object.entries(policy.maxPerRequest ?? {}).find(([key]) => assetMatches(key, offer.network, offer.asset));
  if (!capEntry) {
    if (policy.requireCap) return { reason: 'no_cap_for_asset', message: `the policy sets no per-request cap for ${offer.asset} and requires one` };
    return undefined;
  }
  if (BigInt(offer.amount) > BigInt(capEntry[1])) {
    return { reason: 'over_request_cap', message: `${offer.amount} exceeds the per-request cap of ${capEntry[1].toString()}` };
  }
  return undefined;
}
