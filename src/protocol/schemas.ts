import { z } from 'zod';
import { isAtomicAmount, isCaipNetwork } from './caip';

/**
 * x402 version 2 wire schemas. Money and security fields are strict; unknown extension fields are kept
 * (`looseObject`) so newer peers still parse.
 */

const boundedString = (max: number) => z.string().min(1).max(max);

/** Atomic amount: decimal integer string. */
export const AtomicAmountSchema = z
  .string()
  .max(78)
  .refine(isAtomicAmount, 'must be an atomic amount (decimal integer string)');
/** CAIP-2 network id. */
export const NetworkSchema = z.string().max(64).refine(isCaipNetwork, 'must be a CAIP-2 network id');
/** Free-form extension object. */
export const ExtraSchema = z.record(z.string().max(128), z.unknown());

/** What is being paid for. */
export const ResourceInfoSchema = z.looseObject({
  url: z.string().max(4096),
  description: z.string().max(4096).optional(),
  mimeType: z.string().max(256).optional(),
});

/** One way to pay, as a server offers it in `accepts`. */
export const PaymentRequirementsSchema = z.looseObject({
  scheme: boundedString(64),
  network: NetworkSchema,
  amount: AtomicAmountSchema,
  asset: boundedString(256),
  payTo: boundedString(256),
  maxTimeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(86_400 * 30),
  extra: ExtraSchema.default({}),
});

/** The 402 challenge (PAYMENT-REQUIRED header). */
export const PaymentRequiredSchema = z.looseObject({
  x402Version: z.literal(2),
  error: z.string().max(1024).optional(),
  resource: ResourceInfoSchema,
  accepts: z.array(PaymentRequirementsSchema).max(64),
  extensions: ExtraSchema.optional(),
});

/** The client's payment (PAYMENT-SIGNATURE header). */
export const PaymentPayloadSchema = z.looseObject({
  x402Version: z.literal(2),
  resource: ResourceInfoSchema.optional(),
  accepted: PaymentRequirementsSchema,
  payload: ExtraSchema,
  extensions: ExtraSchema.optional(),
});

/** The settlement result (PAYMENT-RESPONSE header). */
export const SettleResponseSchema = z.looseObject({
  success: z.boolean(),
  errorReason: z.string().max(256).optional(),
  errorMessage: z.string().max(4096).optional(),
  payer: z.string().max(256).optional(),
  transaction: z.string().max(256),
  network: NetworkSchema,
  amount: AtomicAmountSchema.optional(),
  extensions: ExtraSchema.optional(),
});

/** A facilitator's verification answer. */
export const VerifyResponseSchema = z.looseObject({
  isValid: z.boolean(),
  invalidReason: z.string().max(256).optional(),
  invalidMessage: z.string().max(4096).optional(),
  payer: z.string().max(256).optional(),
  extensions: ExtraSchema.optional(),
});

/** The paid resource an x402 v2 message names. */
export type ResourceInfo = z.infer<typeof ResourceInfoSchema>;
/** One offer of a 402 challenge (x402 v2 `accepts` entry). */
export type PaymentRequirements = z.infer<typeof PaymentRequirementsSchema>;
/** The x402 v2 402 challenge (PAYMENT-REQUIRED header). */
export type PaymentRequired = z.infer<typeof PaymentRequiredSchema>;
/** The x402 v2 payment a client sends (PAYMENT-SIGNATURE header). */
export type PaymentPayload = z.infer<typeof PaymentPayloadSchema>;
/** The x402 v2 settlement answer (PAYMENT-RESPONSE header, facilitator `/settle`). */
export type SettleResponse = z.infer<typeof SettleResponseSchema>;
/** The x402 v2 facilitator `/verify` answer. */
export type VerifyResponse = z.infer<typeof VerifyResponseSchema>;
