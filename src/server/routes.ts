import { ConfigurationError } from '../core/errors';
import type { PriceOffer } from '../core/rail';

/** Price and description of one paid route. Offers are listed in the server's preference order. */
export type RouteConfig = {
  /** What the route accepts, best first. */
  accepts: PriceOffer[];
  description?: string;
  mimeType?: string;
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
    const m = /^(?:([A-Z]+)\s+)?(\/\S*)$/.exec(key.trim());
    if (!m) throw new ConfigurationError(`Route key "${key}" must look like "GET /path" or "/path".`);
    if (config.accepts.length === 0) throw new ConfigurationError(`Route "${key}" accepts nothing; list at least one offer.`);
    const path = m[2] ?? '/';
    const source = path
      .split('/')
      .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    return { key, method: m[1], pattern: new RegExp(`^${source}$`), config };
  });
}

/** The first route matching a method and path. */
export function matchRoute(routes: CompiledRoute[], method: string, pathname: string): CompiledRoute | undefined {
  return routes.find((r) => (r.method === undefined || r.method === method) && r.pattern.test(pathname));
}
