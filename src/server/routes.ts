import { ConfigurationError } from '../core/errors';
import type { PriceOffer } from '../core/rail';
import type { RouteDiscovery } from '../discovery/manifest';
import { compileRouteKey } from '../core/routeMatch';

export { compileRouteKey, matchRoute, type RouteMatcher } from '../core/routeMatch';

/** Price and description of one paid route. Offers are listed in the server's preference order. */
export type RouteConfig = {
  /** What the route accepts, best first. */
  accepts: PriceOffer[];
  description?: string;
  mimeType?: string;
  /** Discovery metadata: the `bazaar` extension of its 402s (with `bazaar()`) and its entry at `/.well-known/x402`. */
  discovery?: RouteDiscovery;
};

/**
 * Paid routes keyed by `"METHOD /path"` or `"/path"` (any method). Paths may hold `:param` segments and a
 * trailing `*`.
 *
 * @example { 'GET /weather/:city': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }] } }
 */
export type RoutesConfig = Record<string, RouteConfig>;

/** A compiled route. */
export type CompiledRoute = { key: string; method: string | undefined; pattern: RegExp; config: RouteConfig };

/** Compiles route keys to matchers; throws ConfigurationError on a malformed key or an empty accept list. */
export function compileRoutes(routes: RoutesConfig): CompiledRoute[] {
  return Object.entries(routes).map(([key, config]) => {
    if (config.accepts.length === 0)
      throw new ConfigurationError(`Route "${key}" accepts nothing; list at least one offer.`);
    return { ...compileRouteKey(key), config };
  });
}
