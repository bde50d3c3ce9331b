import type { Budget } from '../client/budgetLedger';
import { assetMatches } from '../client/budgetLedger';
import type { PaymentRequirements } from '../protocol/schemas';
import type { AuthorizedAddress } from './rail';

/** Allow and deny lists; deny wins; an empty or missing allow list allows all. */
export type AllowDeny = { allow?: string[]; deny?: string[] };

/**
 * The per-request cap of an asset that has no `maxPerRequest` entry: 1,000,000 atomic units (1 unit of a
 * 6-decimal stablecoin such as USDC, in the spirit of the official x402 client's $1 default; 1,000,000 msat =
 * 1,000 sat on Lightning). An asset whose decimals the client does not know is capped the same atomic way, so a
 * surprise asset fails closed. Raise it per asset with `policy.maxPerRequest`, for every asset with
 * `policy.defaultMaxPerRequest`, or on the command line with `--max`.
 */
export const DEFAULT_MAX_PER_REQUEST = 1_000_000n;

/**
 * A client's spending policy. Every check is by exact match (addresses compared case-insensitively).
 *
 * @example
 * const policy: SpendingPolicy = {
 *   networks: { allow: ['eip155:8453', 'bip122:000000000019d6689c085ae165831e93'] },
 *   payees: { allow: ['0x2a3b…9f10'] }, // also every spender a payment authorizes (EIP-2612 `extra.spender`)
 *   maxPerRequest: { msat: 1_000_000n, 'eip155:8453/0x8335…2913': 50_000n },
 *   budgets: [{ asset: 'msat', limit: 10_000_000n, window: 'day' }],
 * };
 */
export type SpendingPolicy = {
  networks?: AllowDeny;
  /** Asset ids (`0x…`, mint, `msat`) or `network/asset`. */
  assets?: AllowDeny;
  /**
   * Addresses that may receive or move the payer's money: the offer's `payTo` and every further address the
   * rail's payment authorizes (an EIP-2612 permit's spender), see `authorizedAddresses` in `ClientRail`.
   */
  payees?: AllowDeny;
  /** Origins (`https://api.example.com`) this client may pay. */
  origins?: AllowDeny;
  /**
   * Most one request may cost, keyed by asset id or `network/asset`. Assets without an entry are capped by
   * `defaultMaxPerRequest`.
   */
  maxPerRequest?: Record<string, bigint | string>;
  /** Cap of every asset without a `maxPerRequest` entry, atomic units (default {@link DEFAULT_MAX_PER_REQUEST}). */
  defaultMaxPerRequest?: bigint | string;
  /** Refuse assets that have no `maxPerRequest` entry (instead of capping them by `defaultMaxPerRequest`). */
  requireCap?: boolean;
  /** Rolling and total budgets, reserved atomically. */
  budgets?: Budget[];
};

/**
 * Why the policy refuses an offer, or undefined when it allows it. `authorized` lists every address the payment
 * would let move the payer's money (default: the offer's `payTo` as `payee`); each must pass the payee lists.
 *
 * @example policyRejection({ payees: { allow: [payTo] } }, offer, origin, [{ role: 'payee', address: payTo }, { role: 'spender', address: spender }])
 */
export function policyRejection(
  policy: SpendingPolicy,
  offer: PaymentRequirements,
  origin: string,
  authorized: readonly AuthorizedAddress[] = [{ role: 'payee', address: offer.payTo }],
): { reason: string; message: string } | undefined {
  const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const listed = (list: string[] | undefined, value: string, match = eq) =>
    (list ?? []).some((entry) => match(entry, value));
  const assetMatch = (entry: string, _value: string) => assetMatches(entry, offer.network, offer.asset);
  type Check = [AllowDeny | undefined, string, string, (a: string, b: string) => boolean, string];
  const checks: Check[] = [
    [policy.origins, origin, 'origin', eq, 'origins'],
    [policy.networks, offer.network, 'network', eq, 'networks'],
    [policy.assets, offer.asset, 'asset', assetMatch, 'assets'],
    // Every address that can move the payer's money passes the payee lists, under the role the rail names.
    ...authorized.map((a): Check => [policy.payees, a.address, a.role, eq, 'payees']),
  ];
  for (const [lists, value, what, match, list] of checks) {
    if (!lists) continue;
    if (listed(lists.deny, value, match))
      return { reason: `${what}_denied`, message: `the policy's ${list} deny list names ${what} ${value}` };
    if (lists.allow && lists.allow.length > 0 && !listed(lists.allow, value, match)) {
      return { reason: `${what}_not_allowed`, message: `${what} ${value} is not on the policy's ${list} allow list` };
    }
  }
  const capEntry = Object.entries(policy.maxPerRequest ?? {}).find(([key]) =>
    assetMatches(key, offer.network, offer.asset),
  );
  if (!capEntry) {
    if (policy.requireCap)
      return {
        reason: 'no_cap_for_asset',
        message: `the policy sets no per-request cap for ${offer.asset} and requires one`,
      };
    const cap = BigInt(policy.defaultMaxPerRequest ?? DEFAULT_MAX_PER_REQUEST);
    if (BigInt(offer.amount) > cap) {
      return {
        reason: 'over_request_cap',
        message: `${offer.amount} exceeds the default per-request cap of ${cap} atomic units; to pay more set policy.maxPerRequest['${offer.network}/${offer.asset}'] (or policy.defaultMaxPerRequest; CLI: --max)`,
      };
    }
    return undefined;
  }
  if (BigInt(offer.amount) > BigInt(capEntry[1])) {
    return {
      reason: 'over_request_cap',
      message: `${offer.amount} exceeds the per-request cap of ${capEntry[1].toString()}`,
    };
  }
  return undefined;
}
