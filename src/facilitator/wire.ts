import { z } from 'zod';
import {
  PaymentPayloadSchema,
  PaymentRequirementsSchema,
  type SettleResponse,
  type VerifyResponse,
} from '../protocol/schemas';

/**
 * The x402 v2 facilitator wire shapes (`@x402/core` `VerifyRequest`, `SettleRequest`, `SupportedResponse`),
 * parsed once at the edge. Requests of both endpoints carry the same body.
 */

/** Body of `POST /verify` and `POST /settle`: `{ x402Version, paymentPayload, paymentRequirements }`. */
export const FacilitatorRequestSchema = z.looseObject({
  x402Version: z.literal(2),
  paymentPayload: PaymentPayloadSchema,
  paymentRequirements: PaymentRequirementsSchema,
});

/** A parsed `/verify` or `/settle` body. */
export type FacilitatorRequest = z.infer<typeof FacilitatorRequestSchema>;

/** One payment kind a facilitator handles, as listed by `GET /supported`. */
export type SupportedKind = { x402Version: 2; scheme: string; network: string; extra?: Record<string, unknown> };

/** `GET /supported`: kinds, extension keys, and signer addresses by CAIP family (`eip155:*`). */
export type SupportedResponse = { kinds: SupportedKind[]; extensions: string[]; signers: Record<string, string[]> };

/** Schema of a `/supported` answer (for clients of a facilitator). */
export const SupportedResponseSchema = z.looseObject({
  kinds: z
    .array(
      z.looseObject({
        x402Version: z.number().int(),
        scheme: z.string().max(64),
        network: z.string().max(64),
        extra: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .max(1024),
  extensions: z.array(z.string().max(256)).max(256).default([]),
  signers: z.record(z.string().max(64), z.array(z.string().max(256)).max(256)).default({}),
});

export type { SettleResponse, VerifyResponse };

/** The reason code a facilitator answers when a settlement was broadcast but not confirmed in time. */
export const SETTLEMENT_PENDING = 'settlement_pending';
