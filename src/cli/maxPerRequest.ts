import { DEFAULT_MAX_PER_REQUEST, type SpendingPolicy } from '../core/policy';
import { parseAtomicAmount } from './args';

/** A `--max` flag: a cap for every asset, or for one asset (`<asset>=<n>` or `<network>/<asset>=<n>`). */
export type MaxFlag = { asset?: string; amount: bigint };

/** What `--help` says of the default cap and how to raise it (indented for the options column). */
export const DEFAULT_CAP_HELP = [
  `Without --max one request may cost at most ${DEFAULT_MAX_PER_REQUEST} atomic units of any asset`,
  `(1 unit of a 6-decimal stablecoin such as USDC; ${DEFAULT_MAX_PER_REQUEST} msat on Lightning); an offer`,
  'above it is refused and nothing is paid.',
].join('\n                          ');

/**
 * Parses a `--max` value: `10000` caps every asset; `msat=21000` or `eip155:8453/0x…=10000` caps one.
 *
 * @example parseMaxFlag('msat=21000', 'pay') // { asset: 'msat', amount: 21000n }
 */
export function parseMaxFlag(text: string, command: string): MaxFlag {
  const eq = text.lastIndexOf('=');
  if (eq === -1) return { amount: parseAtomicAmount('--max', text, command) };
  return { asset: text.slice(0, eq), amount: parseAtomicAmount('--max', text.slice(eq + 1), command) };
}

/**
 * Applies `--max` caps to a spending policy: per-asset caps go into `maxPerRequest`; a cap on every asset (the
 * smallest given) replaces the default cap of assets without one of their own (`defaultMaxPerRequest`, else
 * {@link DEFAULT_MAX_PER_REQUEST}). Answers the same policy object.
 *
 * @example const policy = applyMaxFlags({}, [{ amount: 10_000n }, { asset: 'msat', amount: 21_000n }]);
 */
export function applyMaxFlags(policy: SpendingPolicy, flags: MaxFlag[]): SpendingPolicy {
  const caps: Record<string, bigint | string> = (policy.maxPerRequest ??= {});
  for (const flag of flags) if (flag.asset !== undefined) caps[flag.asset] = flag.amount;
  const everyAsset = flags.filter((f) => f.asset === undefined).map((f) => f.amount);
  if (everyAsset.length > 0) policy.defaultMaxPerRequest = everyAsset.reduce((a, b) => (b < a ? b : a));
  return policy;
}
