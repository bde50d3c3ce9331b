import { ConfigurationError } from '../core/errors';
import { paywall, type Paywall, type PaywallOptions } from './paywall';
import type { RoutesConfig } from './routes';

/**
 * The paywall a framework binding was given: a built one as is, or one built from routes and options (the
 * options are then required). Shared by the Hono and Express bindings.
 *
 * @example const pw = paywallFrom(routes, { rails, signer, issuer: 'https://api.example.com' });
 */
export function paywallFrom(routes: RoutesConfig | Paywall, options: PaywallOptions | undefined): Paywall {
  if (isPaywall(routes)) return routes;
  if (!options)
    throw new ConfigurationError('paywall options (rails, signer, issuer) are required when routes are given.');
  return paywall(routes, options);
}

function isPaywall(value: RoutesConfig | Paywall): value is Paywall {
  return typeof (value as Paywall).handle === 'function' && typeof (value as Paywall).wrap === 'function';
}
