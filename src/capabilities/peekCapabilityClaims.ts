import type { CapabilityClaims } from './capabilityClaims';
import { peekJwsCapabilityClaims } from './jwsCapabilityToken';
import { peekMacaroonCapabilityClaims } from './macaroonCapabilityToken';

/**
 * The claims of a capability token of either format (JWS or macaroon) **without authenticating it**. For
 * clients, which hold no key and only need the scope and expiry to choose which capability to present;
 * the server authenticates every token it is shown.
 *
 * @example peekCapabilityClaims(res.headers.get('X402-Capability')!)?.scope.routes // ['GET /weather/:city']
 */
export function peekCapabilityClaims(token: string): CapabilityClaims | undefined {
  return peekJwsCapabilityClaims(token) ?? peekMacaroonCapabilityClaims(token);
}
