import { ConfigurationError } from '../core/errors';
import type { PriceOffer } from '../core/rail';
import type { RouteDiscovery } from '../discovery/manifest';

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
    if (config.accepts.length === 0) throw new ConfigurationError(`Route "${key}" accepts nothing; list at least one offer.`);
    return { ...compileRouteKey(key), config };
  });
}

/**
 * Compiles one route key (`"GET /weather/:city"`, `"/files/*"`) to its method and path matcher; throws
 * ConfigurationError when malformed. Clients use it too, to match a capability's scope to a request.
 *
 * @example compileRouteKey('GET /weather/:city').pattern.test('/weather/paris') // true
 */
export function compileRouteKey(key: string): { key: string; method: string | undefined; pattern: RegExp } {
  const m = /^(?:([A-Z]+)\s+)?(\/\S*)$/.exec(key.trim());
  if (!m) throw new ConfigurationError(`Route key "${key}" must look like "GET /path" or "/path".`);
  const path = m[2] ?? '/';
  const source = path
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
    .replace(/\/$/, '');
  return { key, method: m[1], pattern: new RegExp(`^${source}/?$`, 'i') };
}

/**
 * The first route matching a method and path. Matching is as loose as the frameworks' own routing, so no
 * spelling reaches a paid handler unpaid: HEAD runs GET handlers, Express ignores case and a trailing slash,
 * Hono decodes percent-escapes.
 */
export function matchRoute<R extends Omit<CompiledRoute, 'config'>>(routes: R[], method: string, pathname: string): R | undefined {
  const upper = method.toUpperCase();
  const decoded = decodePath(pathname);
  return routes.find(
    (r) => (r.method === undefined || r.method === upper || (upper === 'HEAD' && r.method === 'GET')) && (r.pattern.test(pathname) || r.pattern.test(decoded)),
  );
}

function decodePath(pathname: string): string {
  try {
    return decodeURI(pathname);
  } catch {
    return pathname;
  }
}
