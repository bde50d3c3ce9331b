import type { PaymentRequirements } from '../protocol/schemas';
import type { FacilitatorRequest } from './wire';

/** One resource a facilitator has settled for (bazaar `DiscoveryResource`). */
export type DiscoveryResource = {
  resource: string;
  type: 'http' | 'mcp';
  x402Version: 2;
  accepts: PaymentRequirements[];
  lastUpdated: string;
  description?: string;
  mimeType?: string;
  extensions?: Record<string, unknown>;
};

/** `GET /discovery/resources` answer (bazaar `DiscoveryResourcesResponse`). */
export type DiscoveryResourcesResponse = {
  x402Version: 2;
  items: DiscoveryResource[];
  pagination: { limit: number; offset: number; total: number };
};

/** Fed by settlements, read by `GET /discovery/resources`. */
export type ResourceCatalog = {
  /** Records the resource a successful settlement paid for (its accepts entry merged in, its `bazaar` metadata kept). */
  record(request: FacilitatorRequest, now: number): void;
  list(query: { type?: string; limit?: number; offset?: number }): DiscoveryResourcesResponse;
};

/**
 * An in-memory catalog of the resources settled through this facilitator, newest first, at most `maxEntries`
 * (oldest dropped). Resource servers feed it by settling: each paid resource URL is listed with the accepts
 * entries it was paid on and the `bazaar` extension its PaymentPayload echoed.
 */
export function createResourceCatalog(maxEntries = 10_000): ResourceCatalog {
  const entries = new Map<string, DiscoveryResource>();
  return {
    record(request, now) {
      const url = request.paymentPayload.resource?.url;
      if (url === undefined) return;
      const req = request.paymentRequirements;
      const { challenge: _token, ...extra } = req.extra;
      const accepted: PaymentRequirements = { ...req, extra };
      const existing = entries.get(url);
      const same = (a: PaymentRequirements) =>
        a.scheme === req.scheme && a.network === req.network && a.asset === req.asset && a.payTo === req.payTo;
      const bazaar = request.paymentPayload.extensions?.bazaar;
      const resource = request.paymentPayload.resource;
      const entry: DiscoveryResource = {
        resource: url,
        type: url.startsWith('mcp://') ? 'mcp' : 'http',
        x402Version: 2,
        accepts: [...(existing?.accepts.filter((a) => !same(a)) ?? []), accepted].slice(-16),
        lastUpdated: new Date(now).toISOString(),
        ...(resource?.description
          ? { description: resource.description }
          : existing?.description
            ? { description: existing.description }
            : {}),
        ...(resource?.mimeType
          ? { mimeType: resource.mimeType }
          : existing?.mimeType
            ? { mimeType: existing.mimeType }
            : {}),
        ...(bazaar !== undefined
          ? { extensions: { bazaar } }
          : existing?.extensions
            ? { extensions: existing.extensions }
            : {}),
      };
      entries.delete(url);
      entries.set(url, entry);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value ?? '');
    },
    list(query) {
      const all = [...entries.values()].reverse().filter((e) => query.type === undefined || e.type === query.type);
      const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
      const offset = Math.max(query.offset ?? 0, 0);
      return {
        x402Version: 2,
        items: all.slice(offset, offset + limit),
        pagination: { limit, offset, total: all.length },
      };
    },
  };
}
