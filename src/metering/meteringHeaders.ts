/**
 * Headers of metered usage (names are case-insensitive on the wire).
 *
 * @example
 * new Response(answer, { headers: { [meteringHeaders.usage]: String(tokensUsed) } }); // in a metered handler
 * fetch(url, { headers: { [meteringHeaders.session]: token, [meteringHeaders.close]: '1' } }); // close
 */
export const meteringHeaders = {
  /** Response to the deposit call: the session token. Request: the session presented. */
  session: 'X402-Metering-Session',
  /** Set by the route's handler on its response: usage units of this call (stripped before the client sees it). */
  usage: 'X402-Usage',
  /** Response: base64 JSON of the signed incremental (or final) receipt. */
  receipt: 'X402-Metering-Receipt',
  /** Request: close the session instead of calling the route (any value). */
  close: 'X402-Metering-Close',
  /** Request (with close): where the refund goes when the rail needs the client to say (a BOLT11 invoice). */
  refundTo: 'X402-Metering-Refund-To',
  /** Response refusing a session (402/400): the reason, e.g. `metering_exhausted`. */
  error: 'X402-Metering-Error',
} as const;

/**
 * Largest session token or refund destination read from a request, in characters; longer → 400.
 *
 * @example if (token.length > METERING_HEADER_MAX_LENGTH) throw new Error('too long');
 */
export const METERING_HEADER_MAX_LENGTH = 16 * 1024;

/** Why a presented session was refused (`X402-Metering-Error`). */
export type MeteringRefusal =
  | 'metering_invalid'
  | 'metering_wrong_scope'
  | 'metering_wrong_issuer'
  | 'metering_unknown'
  | 'metering_expired'
  | 'metering_closed'
  | 'metering_exhausted'
  /** An authorization (`settle: 'authorize'` routes) refused at open: wrong spender, amount or signature, deadline too short, funds short, nonce used or pledged. */
  | 'metering_unauthorized'
  /** A new authorization over the same permit nonce while the session it backs is open: close that session, then authorize again. */
  | 'metering_pledged';
