import { PaymentConflictError, PaymentInvalidError, SettlementPendingError, type X402RailsError } from '../core/errors';
import { exposedHeaders } from '../protocol/headers';

/** A JSON response with CORS exposure of the payment headers. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'Content-Type': 'application/json',
      'Access-Control-Expose-Headers': exposedHeaders.join(', '),
      ...headers,
    },
  });
}

/** The JSON body every error answer carries: a stable code, the reason, and what to do. */
export type ErrorBody = {
  error: string;
  code: string;
  reason?: string;
  message: string;
  details?: Record<string, unknown>;
};

/** Maps a typed error to its HTTP answer (400 malformed, 409 conflict, 413 too large, 502/503 infrastructure). */
export function errorResponse(error: X402RailsError): Response {
  const body: ErrorBody = {
    error: error.name,
    code: error.code,
    message: error.message,
    ...(error instanceof PaymentInvalidError || error instanceof PaymentConflictError ? { reason: error.reason } : {}),
    ...(error instanceof SettlementPendingError
      ? { reason: 'settlement_pending', details: { reference: error.reference } }
      : {}),
  };
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (error.status === 503) headers['Retry-After'] = '5';
  return jsonResponse(error.status, body, headers);
}
