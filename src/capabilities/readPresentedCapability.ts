import { headerNames } from '../protocol/headers';
import { CAPABILITY_MAX_LENGTH, capabilityHeaders } from './capabilityHeaders';
import type { CapabilityToken } from './capabilityToken';

/** What a request presents: a capability token, a malformed one (answer 400), or none. */
export type PresentedCapability =
  | { kind: 'token'; token: string }
  | { kind: 'malformed'; message: string }
  | { kind: 'none' };

/**
 * Reads the capability a request presents: `X402-Capability: <token>` first, else `Authorization: Bearer
 * <token>` when the token is of our format (a Bearer token of the application's own auth is left alone).
 * A request that also carries a payment (PAYMENT-SIGNATURE, X-PAYMENT) presents none: it pays.
 *
 * @example const presented = readPresentedCapability(request, format, true); // { kind: 'token', token }
 */
export function readPresentedCapability(
  request: Request,
  format: CapabilityToken,
  acceptBearer: boolean,
): PresentedCapability {
  const headers = request.headers;
  if (headers.has(headerNames.paymentSignature) || headers.has(headerNames.v1Payment)) return { kind: 'none' };
  const explicit = headers.get(capabilityHeaders.capability);
  if (explicit !== null) {
    const token = explicit.trim();
    if (token.length === 0 || token.length > CAPABILITY_MAX_LENGTH)
      return { kind: 'malformed', message: `${capabilityHeaders.capability} is empty or too long.` };
    // The format's read answers `malformed` for a token that is none of its own.
    return { kind: 'token', token };
  }
  if (!acceptBearer) return { kind: 'none' };
  const authorization = headers.get(headerNames.authorization);
  if (authorization === null) return { kind: 'none' };
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m?.[1] || m[1].length > CAPABILITY_MAX_LENGTH || !format.recognizes(m[1])) return { kind: 'none' };
  return { kind: 'token', token: m[1] };
}
