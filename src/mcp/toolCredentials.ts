import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { capabilityHeaders } from '../capabilities/capabilityHeaders';
import { errorCodes } from '../core/errors';
import { SignedReceiptSchema, type SignedReceipt } from '../core/receipt/receipt';
import { meteringHeaders } from '../metering/meteringHeaders';
import { decodeMeteringReceipt, encodeMeteringReceipt } from '../metering/meteringReceipt';
import { mcpMetaKeys } from './toolResource';
import type { ToolPaymentError } from './toolResults';

/**
 * Capabilities (pay once, call a tool N times) and metering (a deposit drawn per call) over MCP. On HTTP they travel
 * in headers; on a tool call the same values travel in `_meta`, and the MCP paywall turns them into those headers for
 * the one payment flow (and back), so the capability and metering extensions run unchanged:
 *
 * | `_meta` key | where | value | HTTP header(s) |
 * |---|---|---|---|
 * | `x402-rails/capability` | `tools/call` params | the capability token (string) | `X402-Capability` |
 * | `x402-rails/capability-response` | result | `{ token?, remaining?, remainingAmount?, error? }` | `X402-Capability`, `-Remaining`, `-Remaining-Amount`, `-Error` |
 * | `x402-rails/metering` | `tools/call` params | `{ session, close?, refundTo? }` | `X402-Metering-Session`, `-Close`, `-Refund-To` |
 * | `x402-rails/metering-response` | result | `{ session?, receipt?, error? }` (receipt: the signed receipt object) | `X402-Metering-Session`, `-Receipt`, `-Error` |
 * | `x402-rails/usage` | a metered tool's own result (removed before it leaves) | units used (integer or decimal string) | `X402-Usage` |
 */

/** What `_meta["x402-rails/capability-response"]` carries on a result. */
export type ToolCapabilityResponse = {
  /** The capability this paid call bought (present it as `_meta["x402-rails/capability"]`). */
  token?: string;
  /** Calls left on the capability presented. */
  remaining?: number;
  /** Atomic units left on a metered capability. */
  remainingAmount?: string;
  /** Why the capability presented was refused (`capability_exhausted`, `capability_wrong_scope`…). */
  error?: string;
};

/** What `_meta["x402-rails/metering-response"]` carries on a result. */
export type ToolMeteringResponse = {
  /** The metering session the deposit opened (present it as `_meta["x402-rails/metering"].session`). */
  session?: string;
  /** The signed incremental (or final) receipt of this call: running total and what remains. */
  receipt?: SignedReceipt;
  /** Why the session presented was refused (`metering_exhausted`, `metering_wrong_scope`…). */
  error?: string;
};

const MAX_TOKEN = 16 * 1024;

/**
 * The headers a tool call's `_meta` credentials stand for, or the 400 error for a malformed one.
 *
 * @example const read = credentialHeadersOf(call._meta); if ('error' in read) return errorResult(read.error);
 */
export function credentialHeadersOf(
  meta: Record<string, unknown> | undefined,
): { headers: Record<string, string> } | { error: ToolPaymentError } {
  const headers: Record<string, string> = {};
  const capability = meta?.[mcpMetaKeys.capability];
  if (capability !== undefined) {
    if (typeof capability !== 'string' || capability.length === 0 || capability.length > MAX_TOKEN)
      return malformed(
        errorCodes.CAPABILITY_MALFORMED,
        'capability_malformed',
        `_meta["${mcpMetaKeys.capability}"] must be the token as received.`,
      );
    headers[capabilityHeaders.capability] = capability;
  }
  const metering = meta?.[mcpMetaKeys.metering];
  if (metering !== undefined) {
    if (!isRecord(metering) || !isToken(metering.session))
      return malformed(
        errorCodes.METERING_MALFORMED,
        'metering_malformed',
        `_meta["${mcpMetaKeys.metering}"] must be { session, close?, refundTo? } with the session as received.`,
      );
    headers[meteringHeaders.session] = metering.session;
    if (metering.close === true) headers[meteringHeaders.close] = '1';
    if (metering.refundTo !== undefined) {
      if (!isToken(metering.refundTo))
        return malformed(
          errorCodes.METERING_MALFORMED,
          'metering_malformed',
          `_meta["${mcpMetaKeys.metering}"].refundTo must be a string.`,
        );
      headers[meteringHeaders.refundTo] = metering.refundTo;
    }
  }
  return { headers };
}

/**
 * The `_meta` entries an answer of the payment flow carries as capability and metering headers (none when it has none).
 *
 * @example return { ...result, _meta: { ...result._meta, ...credentialMetaOf(response) } };
 */
export function credentialMetaOf(response: Response): Record<string, unknown> {
  const { capability, metering } = credentialsOfHeaders(response.headers);
  return {
    ...(capability ? { [mcpMetaKeys.capabilityResponse]: capability } : {}),
    ...(metering ? { [mcpMetaKeys.meteringResponse]: metering } : {}),
  };
}

/** The capability and metering answers headers carry. */
function credentialsOfHeaders(h: Headers): { capability?: ToolCapabilityResponse; metering?: ToolMeteringResponse } {
  const capability: ToolCapabilityResponse = {};
  const token = h.get(capabilityHeaders.capability);
  if (token !== null) capability.token = token;
  const remaining = h.get(capabilityHeaders.remaining);
  if (remaining !== null && /^[0-9]{1,15}$/.test(remaining)) capability.remaining = Number(remaining);
  const remainingAmount = h.get(capabilityHeaders.remainingAmount);
  if (remainingAmount !== null) capability.remainingAmount = remainingAmount;
  const capabilityError = h.get(capabilityHeaders.error);
  if (capabilityError !== null) capability.error = capabilityError;

  const metering: ToolMeteringResponse = {};
  const session = h.get(meteringHeaders.session);
  if (session !== null) metering.session = session;
  const receipt = decodeMeteringReceipt(h.get(meteringHeaders.receipt));
  if (receipt) metering.receipt = receipt;
  const meteringError = h.get(meteringHeaders.error);
  if (meteringError !== null) metering.error = meteringError;
  return {
    ...(Object.keys(capability).length > 0 ? { capability } : {}),
    ...(Object.keys(metering).length > 0 ? { metering } : {}),
  };
}

/**
 * A metered tool's result without its usage report, and the `X402-Usage` value it reported (undefined when none or
 * not a non-negative integer: the call is then charged its whole reservation, as on HTTP).
 */
export function takeUsage(result: CallToolResult): { result: CallToolResult; usage?: string } {
  const meta = result._meta;
  if (!meta || !(mcpMetaKeys.usage in meta)) return { result };
  const { [mcpMetaKeys.usage]: reported, ...rest } = meta;
  const stripped: CallToolResult = { ...result };
  if (Object.keys(rest).length > 0) stripped._meta = rest;
  else delete stripped._meta;
  const usage =
    typeof reported === 'number' && Number.isSafeInteger(reported) && reported >= 0
      ? String(reported)
      : typeof reported === 'string' && /^[0-9]{1,30}$/.test(reported)
        ? reported
        : undefined;
  return usage === undefined ? { result: stripped } : { result: stripped, usage };
}

/**
 * Client side: the `_meta` entries a request's capability and metering headers stand for (the reverse of
 * {@link credentialHeadersOf}).
 */
export function credentialMetaOfHeaders(headers: Headers): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const capability = headers.get(capabilityHeaders.capability);
  if (capability !== null) meta[mcpMetaKeys.capability] = capability;
  const session = headers.get(meteringHeaders.session);
  if (session !== null) {
    const refundTo = headers.get(meteringHeaders.refundTo);
    meta[mcpMetaKeys.metering] = {
      session,
      ...(headers.has(meteringHeaders.close) ? { close: true } : {}),
      ...(refundTo !== null ? { refundTo } : {}),
    };
  }
  return meta;
}

/**
 * Client side: the capability and metering headers a result's `_meta` stands for (the reverse of
 * {@link credentialMetaOf}), so the capability wallet and metered fetch read tool results as HTTP answers.
 */
export function credentialHeadersOfResult(result: CallToolResult, headers: Headers): void {
  const capability = result._meta?.[mcpMetaKeys.capabilityResponse];
  if (isRecord(capability)) {
    if (isToken(capability.token)) headers.set(capabilityHeaders.capability, capability.token);
    if (typeof capability.remaining === 'number' && Number.isSafeInteger(capability.remaining))
      headers.set(capabilityHeaders.remaining, String(capability.remaining));
    if (typeof capability.remainingAmount === 'string')
      headers.set(capabilityHeaders.remainingAmount, capability.remainingAmount);
    if (isToken(capability.error)) headers.set(capabilityHeaders.error, capability.error);
  }
  const metering = result._meta?.[mcpMetaKeys.meteringResponse];
  if (isRecord(metering)) {
    if (isToken(metering.session)) headers.set(meteringHeaders.session, metering.session);
    const receipt = SignedReceiptSchema.safeParse(metering.receipt);
    if (receipt.success) headers.set(meteringHeaders.receipt, encodeMeteringReceipt(receipt.data));
    if (isToken(metering.error)) headers.set(meteringHeaders.error, metering.error);
  }
}

/**
 * The capability and metering answers of a tool result, as `_meta` carries them.
 *
 * @example const { capability, metering } = toolCredentialsOf(result); // capability?.remaining, metering?.receipt
 */
export function toolCredentialsOf(result: CallToolResult): {
  capability?: ToolCapabilityResponse;
  metering?: ToolMeteringResponse;
} {
  const headers = new Headers();
  credentialHeadersOfResult(result, headers);
  return credentialsOfHeaders(headers);
}

function malformed(code: string, reason: string, message: string): { error: ToolPaymentError } {
  return { error: { status: 400, code, reason, message } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOKEN && !/[\r\n]/.test(value);
}
