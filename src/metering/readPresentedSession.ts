import { headerNames } from '../protocol/headers';
import { METERING_HEADER_MAX_LENGTH, meteringHeaders } from './meteringHeaders';

/** What a request presents: a session (to use or close), a malformed one (answer 400), or none. */
export type PresentedSession =
  | { kind: 'session'; token: string; close: boolean; refundTo?: string }
  | { kind: 'malformed'; message: string }
  | { kind: 'none' };

/**
 * Reads the metering session a request presents in `X402-Metering-Session`, and whether it asks to close it
 * (`X402-Metering-Close`, with an optional `X402-Metering-Refund-To`). A request that also carries a payment
 * (PAYMENT-SIGNATURE, X-PAYMENT, `Authorization: L402 …`) presents none: it pays a new deposit.
 */
export function readPresentedSession(request: Request): PresentedSession {
  const headers = request.headers;
  const value = headers.get(meteringHeaders.session);
  if (value === null) return { kind: 'none' };
  if (
    headers.has(headerNames.paymentSignature) ||
    headers.has(headerNames.v1Payment) ||
    /^\s*(l402|lsat)\s/i.test(headers.get(headerNames.authorization) ?? '')
  ) {
    return { kind: 'none' };
  }
  const token = value.trim();
  if (token.length === 0 || token.length > METERING_HEADER_MAX_LENGTH)
    return { kind: 'malformed', message: `${meteringHeaders.session} is empty or too long.` };
  const close = headers.has(meteringHeaders.close);
  const refundTo = headers.get(meteringHeaders.refundTo)?.trim();
  if (
    refundTo !== undefined &&
    (refundTo.length === 0 || refundTo.length > METERING_HEADER_MAX_LENGTH || /\s/.test(refundTo))
  ) {
    return { kind: 'malformed', message: `${meteringHeaders.refundTo} is empty, too long or holds spaces.` };
  }
  return { kind: 'session', token, close, ...(close && refundTo !== undefined ? { refundTo } : {}) };
}
