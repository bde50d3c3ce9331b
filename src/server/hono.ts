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
    const response = await pw.handle(c.req.raw, async () => {
      await next();
      return c.res;
    });
    // Hono's `c.res` setter wraps the response in a new one and copies headers: skip it when the route's own
    // response passes through untouched (every unpriced route), which costs nothing then.
    if (response !== c.res) c.res = response;
    return response;
  };
}

export { paywall };
