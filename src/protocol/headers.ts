import type { z } from 'zod';
import { MalformedInputError, errorCodes } from './errors';
import { decodeBase64Json, encodeBase64Json } from './jsonCodec';
import {
  PaymentPayloadSchema,
  PaymentRequiredSchema,
  SettleResponseSchema,
  type PaymentPayload,
  type PaymentRequired,
  type SettleResponse,
} from './schemas';

/** x402 v2 header names (HTTP header names are case-insensitive). */
export const headerNames = {
  paymentRequired: 'PAYMENT-REQUIRED',
  paymentSignature: 'PAYMENT-SIGNATURE',
  paymentResponse: 'PAYMENT-RESPONSE',
  v1Payment: 'X-PAYMENT',
  v1PaymentResponse: 'X-PAYMENT-RESPONSE',
  wwwAuthenticate: 'WWW-Authenticate',
  authorization: 'Authorization',
} as const;

/** Headers a browser client must be allowed to read (CORS `Access-Control-Expose-Headers`). */
export const exposedHeaders = [
  headerNames.paymentRequired,
  headerNames.paymentResponse,
  headerNames.v1PaymentResponse,
  headerNames.wwwAuthenticate,
  'Payment-Receipt',
];

/** Parses `value` with `schema`, turning schema issues into a 400-typed error naming the paths. */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new MalformedInputError(
    errorCodes.HEADER_SCHEMA,
    `${what} does not match the x402 v2 schema: ${issues.join('; ')}`,
    {
      details: { issues },
    },
  );
}

/** Encodes a PAYMENT-REQUIRED header value. */
export function encodePaymentRequiredHeader(value: PaymentRequired): string {
  return encodeBase64Json(value);
}
/** Decodes and validates a PAYMENT-REQUIRED header value (throws MalformedInputError). */
export function decodePaymentRequiredHeader(value: string): PaymentRequired {
  return parseWire(
    PaymentRequiredSchema,
    decodeBase64Json(value, { what: headerNames.paymentRequired }),
    headerNames.paymentRequired,
  );
}
/** Encodes a PAYMENT-SIGNATURE header value. */
export function encodePaymentSignatureHeader(value: PaymentPayload): string {
  return encodeBase64Json(value);
}
/** Decodes and validates a PAYMENT-SIGNATURE header value (throws MalformedInputError). */
export function decodePaymentSignatureHeader(value: string): PaymentPayload {
  return parseWire(
    PaymentPayloadSchema,
    decodeBase64Json(value, { what: headerNames.paymentSignature }),
    headerNames.paymentSignature,
  );
}
/** Encodes a PAYMENT-RESPONSE header value. */
export function encodePaymentResponseHeader(value: SettleResponse): string {
  return encodeBase64Json(value);
}
/** Decodes and validates a PAYMENT-RESPONSE header value (throws MalformedInputError). */
export function decodePaymentResponseHeader(value: string): SettleResponse {
  return parseWire(
    SettleResponseSchema,
    decodeBase64Json(value, { what: headerNames.paymentResponse, maxBytes: 64 * 1024 }),
    headerNames.paymentResponse,
  );
}
