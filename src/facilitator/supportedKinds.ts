import { sha256Base64Url, canonicalJson } from '../core/canonical';
import type { QuoteContext, ServerRail } from '../core/rail';
import type { SupportedKind } from './wire';

/** Where a facilitator's `/supported` kinds come from: given per rail id, or learned from each rail's quote. */
export type KindSource = { rails: readonly ServerRail[]; kinds?: Record<string, SupportedKind[]>; now: () => number };

const PROBE_URL = 'urn:x402-rails:facilitator:supported';

/**
 * Lists the kinds of every rail, once: explicit `kinds[rail.id]` when given, else the scheme, network and
 * `extra` of a probe quote (`amount: 1`). A rail whose quote has side effects (Lightning creates an invoice)
 * should be given explicit kinds. Identical kinds are listed once. Failed probes are retried on the next call.
 *
 * @example
 * const kinds = supportedKinds({ rails: [evm3009], now: Date.now });
 * await kinds(); // [{ x402Version: 2, scheme: 'exact', network: 'eip155:31337', extra: { name, version } }]
 */
export function supportedKinds(source: KindSource): () => Promise<SupportedKind[]> {
  const learned = new Map<string, SupportedKind[]>();
  return async () => {
    const all: SupportedKind[] = [];
    for (const rail of source.rails) {
      let kinds = source.kinds?.[rail.id] ?? learned.get(rail.id);
      if (!kinds) {
        kinds = [await probe(rail, source.now())];
        learned.set(rail.id, kinds);
      }
      all.push(...kinds);
    }
    const seen = new Set<string>();
    return all.filter((k) => {
      const key = canonicalJson(k);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };
}

async function probe(rail: ServerRail, now: number): Promise<SupportedKind> {
  const ctx: QuoteContext = {
    request: { method: 'GET', url: PROBE_URL, bodyHash: sha256Base64Url('') },
    resource: { url: PROBE_URL },
    now,
  };
  const req = await rail.quote({ rail: rail.id, amount: '1' }, ctx);
  return {
    x402Version: 2,
    scheme: req.scheme,
    network: req.network,
    ...(Object.keys(req.extra).length > 0 ? { extra: req.extra } : {}),
  };
}
