import { z } from 'zod';
import { parseJsonAs } from '../core/parseJsonAs';
import type { RailPayload, RequestBinding } from '../core/rail';
import { PaymentRequirementsSchema, type PaymentRequirements } from '../protocol/schemas';

/**
 * What the paywall writes to the store the moment a settlement is broadcast: everything needed to settle the
 * payment and sign its receipt again after the process died, without the request in hand.
 */
export type SettlementIntent = {
  /** Route key the payment was made for, e.g. `GET /report`. */
  route: string;
  /** Server rail id. */
  rail: string;
  accepted: PaymentRequirements;
  payload: RailPayload;
  binding: RequestBinding;
  challengeId: string;
  /** The charge the route reported (`reportCharge`), for rails that settle the actual amount (`upto`). */
  charge?: string;
};

const IntentSchema = z.object({
  v: z.literal(1),
  route: z.string(),
  rail: z.string(),
  accepted: PaymentRequirementsSchema,
  payload: z.record(z.string(), z.unknown()),
  binding: z.object({ method: z.string(), url: z.string(), bodyHash: z.string() }),
  challengeId: z.string(),
  charge: z
    .string()
    .regex(/^[0-9]{1,78}$/)
    .optional(),
});

/**
 * Serializes an intent for {@link PaymentStore.markPending}.
 *
 * @example await store.markPending(id, rail.id, txHash, encodeSettlementIntent(intent));
 */
export function encodeSettlementIntent(intent: SettlementIntent): string {
  return JSON.stringify({ v: 1, ...intent });
}

/**
 * Reads a stored intent back; undefined when it is missing or not ours (such a record cannot be settled
 * unattended and is left for the client's retry, which carries the payment again).
 *
 * @example const intent = decodeSettlementIntent(record.intent);
 */
export function decodeSettlementIntent(text: string | undefined): SettlementIntent | undefined {
  const parsed = text === undefined ? undefined : parseJsonAs(IntentSchema, text);
  if (!parsed) return undefined;
  const { v: _version, ...intent } = parsed;
  return intent;
}
