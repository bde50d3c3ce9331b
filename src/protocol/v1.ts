import { z } from 'zod';
import { decodeBase64Json, encodeBase64Json } from './jsonCodec';
import { normalizeNetwork } from './caip';
import { parseWire } from './headers';
import { AtomicAmountSchema, ExtraSchema, type PaymentRequirements } from './schemas';

/**
 * x402 version 1, read side (clients): the 402 JSON body with `maxAmountRequired` and short network
 * names, and the `X-PAYMENT` / `X-PAYMENT-RESPONSE` headers.
 */

/** One v1 offer as a v1 server sends it. */
export const PaymentRequirementsV1Schema = z.looseObject({
  scheme: z.string().min(1).max(64),
  network: z.string().min(1).max(64),
  maxAmountRequired: AtomicAmountSchema,
  resource: z.string().max(4096),
  description: z.string().max(4096).default(''),
  mimeType: z.string().max(256).default(''),
  payTo: z.string().min(1).max(256),
  maxTimeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(86_400 * 30),
  asset: z.string().min(1).max(256),
  outputSchema: z.unknown().optional(),
  extra: ExtraSchema.nullish(),
});

/** The v1 402 body. */
export const PaymentRequiredV1Schema = z.looseObject({
  x402Version: z.literal(1),
  error: z.string().max(1024).optional(),
  accepts: z.array(PaymentRequirementsV1Schema).max(64),
});

/** v1 X-PAYMENT-RESPONSE. */
export const SettleResponseV1Schema = z.looseObject({
  success: z.boolean(),
  errorReason: z.string().max(256).optional(),
  transaction: z.string().max(256),
  network: z.string().max(64),
  payer: z.string().max(256).optional(),
});

/** One offer of an x402 v1 402 body (`accepts` entry, `maxAmountRequired`). */
export type PaymentRequirementsV1 = z.infer<typeof PaymentRequirementsV1Schema>;
/** An x402 v1 402 JSON body. */
export type PaymentRequiredV1 = z.infer<typeof PaymentRequiredV1Schema>;
/** The x402 v1 X-PAYMENT-RESPONSE. */
export type SettleResponseV1 = z.infer<typeof SettleResponseV1Schema>;

/** Parses a v1 402 JSON body (already JSON-parsed). */
export function parsePaymentRequiredV1(body: unknown): PaymentRequiredV1 {
  return parseWire(PaymentRequiredV1Schema, body, 'x402 v1 402 body');
}

/**
 * Maps a v1 offer onto the v2 shape (CAIP-2 network, `amount`), or undefined when its network name is
 * unknown. Adapters see only v2 requirements; the v1 original is kept to build the v1 retry.
 */
export function v1ToV2Requirements(req: PaymentRequirementsV1): PaymentRequirements | undefined {
  const network = normalizeNetwork(req.network);
  if (!network) return undefined;
  return {
    scheme: req.scheme,
    network,
    amount: req.maxAmountRequired,
    asset: req.asset,
    payTo: req.payTo,
    maxTimeoutSeconds: req.maxTimeoutSeconds,
    extra: req.extra ?? {},
  };
}

/** Encodes the v1 `X-PAYMENT` header for a payload built against a v1 offer. */
export function encodeV1PaymentHeader(req: PaymentRequirementsV1, payload: Record<string, unknown>): string {
  return encodeBase64Json({ x402Version: 1, scheme: req.scheme, network: req.network, payload });
}

/** Decodes `X-PAYMENT-RESPONSE`. */
export function decodeV1PaymentResponseHeader(value: string): SettleResponseV1 {
  return parseWire(
    SettleResponseV1Schema,
    decodeBase64Json(value, { what: 'X-PAYMENT-RESPONSE' }),
    'X-PAYMENT-RESPONSE',
  );
}
