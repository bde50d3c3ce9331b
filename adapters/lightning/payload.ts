import { z } from 'zod';
import { PaymentInvalidError, type RailPayload } from '../../src/index';

/** Longest base64 macaroon text accepted in a payload (16 KiB of macaroon). */
const MAX_MACAROON_TEXT = 22_000;

/**
 * The x402 payload of the Lightning rail: the preimage that proves the invoice in `extra` was paid and,
 * optionally, the L402 macaroon (default: the one in the offer's `extra.macaroon`).
 *
 * @example { preimage: '0f3c…(64 hex)', macaroon: 'AgEL…' }
 */
export const LightningPayloadSchema = z.object({
  preimage: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters')
    .transform((s) => s.toLowerCase()),
  macaroon: z
    .string()
    .min(1)
    .max(MAX_MACAROON_TEXT)
    .regex(/^[A-Za-z0-9+/\-_]+={0,2}$/, 'must be base64')
    .optional(),
});

/** A parsed {@link LightningPayloadSchema}. */
export type LightningPayload = z.infer<typeof LightningPayloadSchema>;

/** Parses a payload; throws PaymentInvalidError('invalid_payload') when malformed. */
export function parseLightningPayload(payload: RailPayload): LightningPayload {
  const parsed = LightningPayloadSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PaymentInvalidError(
      'invalid_payload',
      `The Lightning payload is malformed: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}
