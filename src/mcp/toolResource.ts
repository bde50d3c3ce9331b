import { canonicalJson } from '../core/canonical';
import { ConfigurationError } from '../core/errors';

/**
 * How a tool call is named to the payment flow. A paid tool is the route `POST /<tool name>` and a call the request
 * `POST mcp://tool/<tool name>` whose body is the canonical JSON of its arguments (sorted keys, no whitespace): the
 * challenge binds the tool, the receipt binds the tool and the SHA-256 of its canonical arguments, so a payment for
 * one tool or one set of arguments is never taken as another's. `mcp://tool/<name>` is the resource URL the x402 MCP
 * transport spec uses.
 */

/** Tool names a paid tool may have (the MCP spec's recommended characters), so every name is one URL segment. */
export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Meta keys of the x402 MCP transport (`params._meta` / `result._meta`). */
export const mcpMetaKeys = {
  /** PaymentPayload on a `tools/call` request. */
  payment: 'x402/payment',
  /** SettlementResponse on a paid result (our signed receipt under `extensions["x402-rails/receipt"]`). */
  paymentResponse: 'x402/payment-response',
  /** An x402-rails answer that is neither a payment request nor the tool's: `{ status, code, reason?, message }`. */
  error: 'x402-rails/error',
  /** A capability token presented on a `tools/call` (pay once, call N times); see `toolCredentials.ts`. */
  capability: 'x402-rails/capability',
  /** On a result: the capability bought, calls or amount left, or why the one presented was refused. */
  capabilityResponse: 'x402-rails/capability-response',
  /** A metering session presented on a `tools/call`: `{ session, close?, refundTo? }`. */
  metering: 'x402-rails/metering',
  /** On a result: the metering session opened, this call's signed metering receipt, or why the session was refused. */
  meteringResponse: 'x402-rails/metering-response',
  /** On a metered tool's own result: the units it used (removed before the result leaves the server). */
  usage: 'x402-rails/usage',
} as const;

/** Throws ConfigurationError for a tool name that is not one URL segment. */
export function assertToolName(name: string): void {
  if (!TOOL_NAME.test(name))
    throw new ConfigurationError(`Paid tool name "${name.slice(0, 140)}" must match ${TOOL_NAME.source}.`);
}

/**
 * The resource URL of a tool, as challenges and receipts name it.
 *
 * @example toolResourceUrl('get_weather') // 'mcp://tool/get_weather'
 */
export function toolResourceUrl(name: string): string {
  return `mcp://tool/${name}`;
}

/** The tool a resource URL names, or undefined when it is not `mcp://tool/<name>`. */
export function toolNameOf(url: string): string | undefined {
  const m = /^mcp:\/\/tool\/([^/?#]+)$/.exec(url);
  const name = m?.[1];
  return name !== undefined && TOOL_NAME.test(name) ? name : undefined;
}

/**
 * The request body a tool call is bound by: the canonical JSON of its arguments (`{}` when it has none).
 *
 * @example toolCallBody({ b: 1, a: 'x' }) // '{"a":"x","b":1}'
 */
export function toolCallBody(args: Record<string, unknown> | undefined): string {
  return canonicalJson(args ?? {});
}
