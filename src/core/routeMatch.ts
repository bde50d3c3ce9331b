/**
 * Route keys (`"GET /weather/:city"`, `"/files/*"`) and matching a request to them: the paywall routes requests by
 * them, and clients match a capability's or a metering session's scope to a request with the same code.
 */
import { ConfigurationError } from './errors';

/** A compiled route key: its method (undefined = any) and path matcher. */
export type RouteMatcher = { key: string; method: string | undefined; pattern: RegExp };

/**
 * Compiles one route key (`"GET /weather/:city"`, `"/files/*"`) to its method and path matcher; throws
 * ConfigurationError when malformed. Clients use it too, to match a capability's scope to a request.
 *
 * @example compileRouteKey('GET /weather/:city').pattern.test('/weather/paris') // true
 */
export function compileRouteKey(key: string): RouteMatcher {
  const m = /^(?:([A-Z]+)\s+)?(\/\S*)$/.exec(key.trim());
  if (!m) throw new ConfigurationError(`Route key "${key}" must look like "GET /path" or "/path".`);
  const path = m[2] ?? '/';
  const source = path
    .split('/')
    .map((segment) =>
      segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/')
    .replace(/\/$/, '');
  return { key, method: m[1], pattern: new RegExp(`^${source}/?$`, 'i') };
}

/**
 * The first route matching a method and path. Matching is as loose as the frameworks' own routing, so no
 * spelling reaches a paid handler unpaid: HEAD runs GET handlers, Express ignores case and a trailing slash,
 * Hono decodes percent-escapes.
 */
export function matchRoute<R extends RouteMatcher>(routes: R[], method: string, pathname: string): R | undefined {
  const upper = method.toUpperCase();
  const decoded = decodePath(pathname);
  return routes.find(
    (r) =>
      (r.method === undefined || r.method === upper || (upper === 'HEAD' && r.method === 'GET')) &&
      (r.pattern.test(pathname) || r.pattern.test(decoded)),
  );
}

function decodePath(pathname: string): string {
  try {
    return decodeURI(pathname);
  } catch {
    return pathname;
  }
}
