import { randomBytes, toHex } from '../core/cryptoPrimitives';
import { z } from 'zod';
import type { PaymentPayload, PaymentRequired } from '../protocol/schemas';

/**
 * The x402 `payment-identifier` extension on the wire (specs/extensions/payment_identifier.md): the server declares
 * `{ info: { required }, schema }` in the 402; the client echoes it with `info.id` (16–128 of `[A-Za-z0-9_-]`) in its
 * PaymentPayload, and reuses the id when it resends the same payment.
 */

/** Extension key. */
export const PAYMENT_IDENTIFIER = 'payment-identifier';

/** A valid payment id: 16–128 alphanumerics, hyphens, underscores. */
export const PAYMENT_ID = /^[A-Za-z0-9_-]{16,128}$/;

/** The JSON Schema of the extension's `info`, as the spec publishes it. */
export const paymentIdentifierSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    required: { type: 'boolean' },
    id: { type: 'string', minLength: 16, maxLength: 128, pattern: '^[a-zA-Z0-9_-]+$' },
  },
  required: ['required'],
} as const;

/** The declaration a server puts in `PaymentRequired.extensions["payment-identifier"]`. */
export function declarePaymentIdentifier(required: boolean): {
  info: { required: boolean };
  schema: typeof paymentIdentifierSchema;
} {
  return { info: { required }, schema: paymentIdentifierSchema };
}

const InfoSchema = z.object({ required: z.boolean().optional(), id: z.string().max(256).optional() }).loose();
const ExtensionSchema = z.object({ info: InfoSchema }).loose();

/**
 * The id a payment carries: `{ id }`, `{ id: undefined }` when it carries none, or `{ invalid }` when the extension
 * or its id is malformed.
 */
export function paymentIdentifierOf(payment: PaymentPayload): { id: string | undefined } | { invalid: string } {
  const raw = payment.extensions?.[PAYMENT_IDENTIFIER];
  if (raw === undefined) return { id: undefined };
  const parsed = ExtensionSchema.safeParse(raw);
  if (!parsed.success) return { invalid: 'The payment-identifier extension is malformed (info.required, info.id).' };
  const id = parsed.data.info.id;
  if (id === undefined) return { id: undefined };
  if (!PAYMENT_ID.test(id)) return { invalid: 'A payment id is 16 to 128 characters of A-Z, a-z, 0-9, "-" and "_".' };
  return { id };
}

/**
 * The `extensions` a client adds to its PaymentPayload for a 402 that declares `payment-identifier`: the
 * declaration echoed with a fresh `info.id` (`pay_` + 32 hex); empty when the server did not declare it.
 *
 * @example { ...payload, extensions: paymentIdentifierFor(paymentRequired) }
 */
export function paymentIdentifierFor(
  paymentRequired: PaymentRequired,
  id = `pay_${toHex(randomBytes(16))}`,
): Record<string, unknown> {
  const declared = ExtensionSchema.safeParse(paymentRequired.extensions?.[PAYMENT_IDENTIFIER]);
  if (!declared.success) return {};
  return { [PAYMENT_IDENTIFIER]: { ...declared.data, info: { required: declared.data.info.required ?? false, id } } };
}
