import type { PaywallExtension } from '../server/extensions';
import { bazaarExtension } from './manifest';

/**
 * The x402 `bazaar` extension for a paywall: every 402 of a route that has `discovery` metadata carries
 * `extensions.bazaar` (`{ info, schema }`: how to call it, what it answers), so facilitators and crawlers can
 * catalog it; MCP tools (`mcp://tool/<name>`) are described as tools with their input schema.
 *
 * @example paywall({ 'GET /weather': { accepts, discovery: { serviceName: 'Weather', input: { queryParams: { city: { type: 'string' } } } } } }, { …, extensions: [bazaar()] })
 */
export function bazaar(): PaywallExtension {
  return {
    name: 'bazaar',
    declare(ctx) {
      const discovery = ctx.route.config.discovery;
      if (!discovery) return {};
      const tool = /^mcp:\/\/tool\/([^/?#]+)$/.exec(ctx.resource.url)?.[1];
      const description = ctx.route.config.description;
      const target =
        tool !== undefined
          ? { type: 'mcp' as const, toolName: tool, ...(description ? { description } : {}) }
          : { type: 'http' as const, method: ctx.binding.method };
      return { bazaar: bazaarExtension(target, discovery) };
    },
  };
}
