import type { MiddlewareHandler } from 'hono';
import { RECEIPT_JWKS_PATH } from '../core/receipt/receipt';
import { paywall, type Paywall, type PaywallOptions } from './paywall';
import { paywallFrom } from './paywallFrom';
import type { RoutesConfig } from './routes';

/**
 * Hono middleware over the Fetch-API paywall. Serves the receipt JWKS at its well-known path.
 *
 * @example
 * app.use(honoPaywall({ 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }] } }, { rails, signer, issuer: 'https://api.example.com' }));
 */
export function honoPaywall(routes: RoutesConfig | Paywall, options?: PaywallOptions): MiddlewareHandler {
  const pw = paywallFrom(routes, options);
  return async (c, next) => {
    if (c.req.method === 'GET' && c.req.path === RECEIPT_JWKS_PATH) return c.json(pw.jwks());
    let passed: Response | undefined;
    const response = await pw.handle(c.req.raw, async () => {
      await next();
      passed = c.res;
      return passed;
    });
    // Hono's `c.res` setter wraps a response in a new one and copies the old one's headers, and its getter makes a
    // default response when none was set: an unpriced route's own response passes through untouched, and a 402
    // (the route never ran) is set once, without reading `c.res` first.
    if (response !== passed) c.res = response;
    return response;
  };
}

export { paywall };
