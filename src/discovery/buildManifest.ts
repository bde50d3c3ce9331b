import type { ServerRail } from '../core/rail';
import type { PaymentRequirements } from '../protocol/schemas';
import { EMPTY_BODY_HASH } from '../server/readBinding';
import type { CompiledRoute } from '../server/routes';
import { bazaarExtension, type DiscoveryItem, type DiscoveryManifest } from './manifest';

/** What {@link buildManifest} reads of a paywall. */
export type ManifestSource = {
  routes: readonly CompiledRoute[];
  railsById: ReadonlyMap<string, ServerRail>;
  now: () => number;
};

/**
 * Builds the discovery manifest of a paywall's routes at `origin`: each route's offers quoted once on their rails
 * (advisory: no challenge token; an offer whose rail cannot quote is left out), its call shape and its `bazaar`
 * metadata. `type: 'mcp'` describes the routes as MCP tools (`POST /<tool>` → `mcp://tool/<tool>`).
 */
export async function buildManifest(
  source: ManifestSource,
  origin: string,
  type: 'http' | 'mcp',
): Promise<DiscoveryManifest> {
  const now = source.now();
  const items = await Promise.all(source.routes.map((route) => describeRoute(source, route, origin, type, now)));
  return { x402Version: 2, lastUpdated: Math.floor(now / 1000), items };
}

async function describeRoute(
  source: ManifestSource,
  route: CompiledRoute,
  origin: string,
  type: 'http' | 'mcp',
  now: number,
): Promise<DiscoveryItem> {
  const path = /^(?:[A-Z]+\s+)?(\/\S*)$/.exec(route.key.trim())?.[1] ?? '/';
  const method = route.method ?? 'GET';
  const toolName = path.slice(1);
  const url = type === 'mcp' ? `mcp://tool/${toolName}` : `${origin}${path}`;
  const { description, mimeType, discovery } = route.config;
  const resource = { url, ...(description ? { description } : {}), ...(mimeType ? { mimeType } : {}) };
  const quoted = await Promise.allSettled(
    route.config.accepts.map(async (offer) => {
      const rail = source.railsById.get(offer.rail);
      if (!rail) throw new Error(`rail ${offer.rail} missing`);
      return rail.quote(offer, { request: { method, url, bodyHash: EMPTY_BODY_HASH }, resource, now });
    }),
  );
  const accepts = quoted.flatMap((q): PaymentRequirements[] => (q.status === 'fulfilled' ? [q.value] : []));
  const bazaar = bazaarExtension(
    type === 'mcp' ? { type: 'mcp', toolName, ...(description ? { description } : {}) } : { type: 'http', method },
    discovery,
  );
  return {
    resource: {
      ...resource,
      ...(discovery?.serviceName ? { serviceName: discovery.serviceName } : {}),
      ...(discovery?.tags ? { tags: discovery.tags } : {}),
    },
    type,
    accepts,
    input:
      type === 'mcp'
        ? { toolName, transport: 'streamable-http', inputSchema: discovery?.input?.inputSchema ?? { type: 'object' } }
        : {
            method,
            routeTemplate: path,
            ...(discovery?.input?.queryParams ? { queryParams: discovery.input.queryParams } : {}),
            ...(discovery?.input?.body ? { bodyType: 'json', body: discovery.input.body } : {}),
          },
    ...(discovery?.output ? { output: { mimeType: mimeType ?? 'application/json', ...discovery.output } } : {}),
    extensions: { bazaar },
  };
}
