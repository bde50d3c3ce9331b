import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parseBoundedJson } from '../protocol/jsonCodec';
import {
  PaymentRequiredSchema,
  SettleResponseSchema,
  type PaymentRequired,
  type SettleResponse,
} from '../protocol/schemas';
import { mcpMetaKeys } from './toolResource';

/**
 * The x402 MCP payment-required result (tool-result binding): `isError: true`, the PaymentRequired in
 * `structuredContent`, and the same object as JSON in `content[0].text`.
 *
 * @example return paymentRequiredResult(paymentRequired);
 */
export function paymentRequiredResult(paymentRequired: PaymentRequired): CallToolResult {
  return {
    isError: true,
    structuredContent: paymentRequired,
    content: [{ type: 'text', text: JSON.stringify(paymentRequired) }],
  };
}

/**
 * The PaymentRequired a tool result carries, read as the spec tells clients to: `structuredContent` first, else
 * `content[0].text`; undefined when the result is not a payment request.
 */
export function paymentRequiredOf(result: CallToolResult): PaymentRequired | undefined {
  if (result.isError !== true) return undefined;
  const fromStructured = PaymentRequiredSchema.safeParse(result.structuredContent);
  if (fromStructured.success) return fromStructured.data;
  const first = result.content[0];
  if (first?.type !== 'text' || first.text.length > 256 * 1024) return undefined;
  try {
    const parsed = PaymentRequiredSchema.safeParse(
      parseBoundedJson(first.text, { what: 'payment-required tool result' }),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The SettlementResponse of a paid tool result (`_meta["x402/payment-response"]`), when it has a valid one. */
export function paymentResponseOf(result: CallToolResult): SettleResponse | undefined {
  const parsed = SettleResponseSchema.safeParse(result._meta?.[mcpMetaKeys.paymentResponse]);
  return parsed.success ? parsed.data : undefined;
}

/** What {@link mcpMetaKeys.error} carries: the HTTP status the same answer has over HTTP, and the error body. */
export type ToolPaymentError = { status: number; code: string; reason?: string; message: string };
