import type { FetchLike } from '../client/payingFetch';
import { readChallenge } from '../client/readChallenge';
import type { SpendingPolicy } from '../core/policy';
import { parseAtomicAmount } from './args';

/** A `--max` flag: a cap for every asset, or for one asset (`<asset>=<n>` or `<network>/<asset>=<n>`). */
export type MaxFlag = { asset?: string; amount: bigint };

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
 * Applies `--max` caps to a spending policy. Per-asset caps go straight into `maxPerRequest`. A cap on every
 * asset cannot be written before the offers are known, so the returned fetch, on a 402, reads the challenge
 * and adds the cap for each offered `network/asset` that has no cap of its own — before `payingFetch`
 * negotiates on the same policy object. With no all-asset cap, `fetchImpl` is returned unchanged.
 *
 * @example
 * const policy: SpendingPolicy = {};
 * const pay = payingFetch(applyMaxFlags(policy, [{ amount: 10_000n }], fetch), { adapters, wallets, policy });
 */
export function applyMaxFlags(policy: SpendingPolicy, flags: MaxFlag[], fetchImpl: FetchLike): FetchLike {
  const caps: Record<string, bigint | string> = (policy.maxPerRequest ??= {});
  for (const flag of flags) if (flag.asset !== undefined) caps[flag.asset] = flag.amount;
  const everyAsset = flags.filter((f) => f.asset === undefined).map((f) => f.amount);
  if (everyAsset.length === 0) return fetchImpl;
  const cap = everyAsset.reduce((a, b) => (b < a ? b : a));
  return async (input, init) => {
    const response = await fetchImpl(input, init);
    if (response.status !== 402) return response;
    const challenge = await readChallenge(response).catch(() => undefined);
    for (const offer of challenge?.offers ?? []) {
      const key = `${offer.network}/${offer.asset}`;
      const own = Object.keys(caps).some((k) => k.toLowerCase() === key.toLowerCase() || k.toLowerCase() === offer.asset.toLowerCase());
      if (!own) caps[key] = cap;
    }
    return response;
  };
}
