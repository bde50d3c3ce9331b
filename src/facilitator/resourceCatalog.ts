import { z } from 'zod';
import { PaymentRequirementsSchema, type PaymentRequirements } from '../protocol/schemas';
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

/** Fed by settlements, read by `GET /discovery/resources` (in memory, or persistent: SQLite, Postgres). */
export type ResourceCatalog = {
  /** Records the resource a successful settlement paid for (its accepts entry merged in, its `bazaar` metadata kept). */
  record(request: FacilitatorRequest, now: number): void | Promise<void>;
  list(query: CatalogQuery): DiscoveryResourcesResponse | Promise<DiscoveryResourcesResponse>;
};

const DiscoveryResourceSchema = z.object({
  resource: z.string(),
  type: z.enum(['http', 'mcp']),
  x402Version: z.literal(2),
  accepts: z.array(PaymentRequirementsSchema),
  lastUpdated: z.string(),
  description: z.string().optional(),
  mimeType: z.string().optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

/** A catalog entry read back from its stored JSON; undefined when the text is not one (a corrupt record). */
export function parseDiscoveryResource(text: string): DiscoveryResource | undefined {
  try {
    const parsed = DiscoveryResourceSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What `GET /discovery/resources` asks: a type filter and a page. */
export type CatalogQuery = { type?: string; limit?: number; offset?: number };

/** The page bounds of a query: limit 1–1000 (default 100), offset ≥ 0. */
export function pageOf(query: CatalogQuery): { limit: number; offset: number } {
  return { limit: Math.min(Math.max(query.limit ?? 100, 1), 1000), offset: Math.max(query.offset ?? 0, 0) };
}

/**
 * The catalog entry of `url` after a settlement paid for it: the accepts entry it was paid on merged into those on
 * record (one per scheme, network, asset and payee; at most 16), description, mime type and `bazaar` metadata
 * kept from the payment or else from the record. Undefined when the payment names no resource. Pure; every
 * catalog records through it.
 */
export function mergeDiscoveryResource(
  existing: DiscoveryResource | undefined,
  request: FacilitatorRequest,
  now: number,
): DiscoveryResource | undefined {
  const url = request.paymentPayload.resource?.url;
  if (url === undefined) return undefined;
  const req = request.paymentRequirements;
  const { challenge: _token, ...extra } = req.extra;
  const accepted: PaymentRequirements = { ...req, extra };
  const same = (a: PaymentRequirements) =>
    a.scheme === req.scheme && a.network === req.network && a.asset === req.asset && a.payTo === req.payTo;
  const bazaar = request.paymentPayload.extensions?.bazaar;
  const resource = request.paymentPayload.resource;
  return {
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
}

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
      const entry = url === undefined ? undefined : mergeDiscoveryResource(entries.get(url), request, now);
      if (url === undefined || entry === undefined) return;
      entries.delete(url);
      entries.set(url, entry);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value ?? '');
    },
    list(query) {
      const all = [...entries.values()].reverse().filter((e) => query.type === undefined || e.type === query.type);
      const { limit, offset } = pageOf(query);
      return {
        x402Version: 2,
        items: all.slice(offset, offset + limit),
        pagination: { limit, offset, total: all.length },
      };
    },
  };
}
