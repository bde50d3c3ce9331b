import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ConfigurationError } from '../core/errors';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  headerNames,
} from '../protocol/headers';
import { PaymentPayloadSchema } from '../protocol/schemas';
import type { DiscoveryManifest } from '../discovery/manifest';
import { paywall, type Paywall, type PaywallOptions } from '../server/paywall';
import type { RouteConfig, RoutesConfig } from '../server/routes';
import { meteringHeaders } from '../metering/meteringHeaders';
import { credentialHeadersOf, credentialMetaOf, takeUsage } from './toolCredentials';
import { assertToolName, mcpMetaKeys, toolCallBody, toolResourceUrl } from './toolResource';
import { paymentRequiredResult, type ToolPaymentError } from './toolResults';
import { mppCredentialHeadersOf, mppMetaOf } from './mppMeta';

/** Paid tools keyed by tool name, each priced like an HTTP route (`accepts` per rail, best first). */
export type PaidToolsConfig = Record<string, RouteConfig>;

/** Options of {@link mcpPaywall}: those of `paywall()`, with the receipt issuer required (a tool call has no origin). */
export type McpPaywallOptions = Omit<PaywallOptions, 'issuer'> & {
  /**
   * Who signs the receipts, e.g. `https://tools.example.com`: paying clients check that receipts name the party they
   * pay and fetch its JWKS from `<issuer>/.well-known/x402-rails/jwks.json`.
   */
  issuer: string;
};

/** One `tools/call` as the server received it. */
export type ToolCall = { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> };

/** What the SDK passes a tool callback last (`RequestHandlerExtra`); only `_meta` is read. */
type ToolExtra = { _meta?: Record<string, unknown> };

/** A paywall over MCP tools. */
export type McpPaywall = {
  /**
   * Runs one tool call behind the paywall: an unpaid call of a paid tool gets the payment-required result (the tool
   * does not run); a paid one is verified, `run` runs, a result without `isError` is settled once and carries
   * `_meta["x402/payment-response"]` with the signed receipt. A tool that is not paid runs straight through.
   */
  call(
    call: ToolCall,
    run: (args: Record<string, unknown>) => CallToolResult | Promise<CallToolResult>,
  ): Promise<CallToolResult>;
  /**
   * Wraps an `McpServer.registerTool` callback (`(args, extra)`, or `(extra)` for a tool without input) with the
   * tool's price. The receipt binds the arguments as the SDK handed them to the callback (after the input schema).
   *
   * @example server.registerTool('get_weather', { inputSchema: { city: z.string() } }, tools.tool('get_weather', async ({ city }) => ({ content: [{ type: 'text', text: forecast(city) }] })));
   */
  tool<A extends unknown[]>(
    name: string,
    handler: (...params: A) => CallToolResult | Promise<CallToolResult>,
  ): (...params: A) => Promise<CallToolResult>;
  /** The discovery manifest of the paid tools (`type: 'mcp'`); serve it at `/.well-known/x402` beside the MCP endpoint. */
  manifest(): Promise<DiscoveryManifest>;
  /** True when `name` is a paid tool. */
  covers(name: string): boolean;
  /** The HTTP paywall underneath (its store, JWKS, `reconcile()`); its routes are `POST /<tool name>`. */
  paywall: Paywall;
};

/**
 * Puts a price on MCP tools with the same flow as HTTP routes: the call becomes `POST mcp://tool/<name>` with the
 * canonical JSON of its arguments as body, and goes through `paywall().handle` (claim → verify → tool → settle once →
 * receipt; stores, replay bound, extensions and crash recovery included). The payment travels in
 * `params._meta["x402/payment"]`, the settlement in `result._meta["x402/payment-response"]` (x402 MCP transport,
 * tool-result binding). The `capabilities()` and `metering()` extensions work for tools as for routes (route key
 * `POST /<tool name>`): their tokens, usage reports and answers travel in `_meta` (see `toolCredentials.ts`).
 *
 * @example
 * const tools = mcpPaywall({ get_weather: { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }] } }, { rails: [evm], signer, issuer: 'https://tools.example.com' });
 * server.registerTool('get_weather', { inputSchema: { city: z.string() } }, tools.tool('get_weather', async ({ city }) => ({ content: [{ type: 'text', text: `Sunny in ${city}` }] })));
 */
export function mcpPaywall(tools: PaidToolsConfig, options: McpPaywallOptions): McpPaywall {
  const routes: RoutesConfig = {};
  for (const [name, config] of Object.entries(tools)) {
    assertToolName(name);
    routes[`POST /${name}`] = config;
  }
  if (typeof options.issuer !== 'string')
    throw new ConfigurationError('mcpPaywall() needs `issuer`, e.g. https://tools.example.com.');
  const pw = paywall(routes, options);

  async function call(
    toolCall: ToolCall,
    run: (args: Record<string, unknown>) => CallToolResult | Promise<CallToolResult>,
  ): Promise<CallToolResult> {
    const args = toolCall.arguments ?? {};
    if (!pw.covers('POST', `/${toolCall.name}`)) return run(args);
    const credentials = credentialHeadersOf(toolCall._meta);
    if ('error' in credentials) return errorResult(credentials.error);
    const mpp = mppCredentialHeadersOf(toolCall._meta);
    if ('error' in mpp) return errorResult(mpp.error);
    const headers = new Headers({ 'Content-Type': 'application/json', ...credentials.headers, ...mpp.headers });
    const payment = toolCall._meta?.[mcpMetaKeys.payment];
    if (payment !== undefined) {
      const parsed = PaymentPayloadSchema.safeParse(payment);
      if (!parsed.success)
        return errorResult({
          status: 400,
          code: 'PROTOCOL__HEADER__SCHEMA_MISMATCH',
          reason: 'invalid_payload',
          message: `_meta["${mcpMetaKeys.payment}"] is not an x402 v2 PaymentPayload.`,
        });
      headers.set(headerNames.paymentSignature, encodePaymentSignatureHeader(parsed.data));
    }
    const request = new Request(toolResourceUrl(toolCall.name), { method: 'POST', headers, body: toolCallBody(args) });
    let ran: CallToolResult | undefined;
    let handlerResponse: Response | undefined;
    const response = await pw.handle(request, async () => {
      // A metered tool reports its usage in its result's _meta (removed here), as a route does in X402-Usage.
      const { result, usage } = takeUsage(await run(args));
      ran = result;
      // A tool's own error is the handler answering ≥ 400: nothing is settled and the claim is freed.
      // The result is the body too, so an answer kept for a payment id (payment-identifier) carries it.
      handlerResponse = new Response(JSON.stringify(result), {
        status: result.isError === true ? 500 : 200,
        headers: {
          'Content-Type': 'application/json',
          ...(usage !== undefined ? { [meteringHeaders.usage]: usage } : {}),
        },
      });
      return handlerResponse;
    });
    const credentialMeta = { ...credentialMetaOf(response), ...mppMetaOf(response) };
    if (response === handlerResponse && ran) return withMeta(ran, credentialMeta);
    const required = response.headers.get(headerNames.paymentRequired);
    if (response.status === 402 && required !== null) {
      await response.body?.cancel();
      return withMeta(paymentRequiredResult(decodePaymentRequiredHeader(required)), credentialMeta);
    }
    if (response.status === 200 && ran === undefined && headers.has(meteringHeaders.close))
      return withMeta(await closedSessionResult(response), credentialMeta);
    const settled = response.headers.get(headerNames.paymentResponse);
    const paymentResponse = settled === null ? undefined : decodePaymentResponseHeader(settled);
    const served = response.status < 400 ? (ran ?? (await keptResult(response))) : undefined;
    if (served) {
      await response.body?.cancel().catch(() => undefined);
      return withMeta(served, {
        ...credentialMeta,
        ...(paymentResponse ? { [mcpMetaKeys.paymentResponse]: paymentResponse } : {}),
      });
    }
    const body = await readErrorBody(response);
    return withMeta(errorResult(body, paymentResponse), credentialMeta);
  }

  return {
    call,
    tool(name, handler) {
      assertToolName(name);
      return (...params) => {
        const extra = params.length > 0 ? params[params.length - 1] : undefined;
        const meta = isToolExtra(extra) ? extra._meta : undefined;
        const args = params.length >= 2 ? params[0] : undefined;
        return call({ name, ...(isArguments(args) ? { arguments: args } : {}), ...(meta ? { _meta: meta } : {}) }, () =>
          handler(...params),
        );
      };
    },
    covers: (name) => pw.covers('POST', `/${name}`),
    manifest: () => pw.manifest(options.issuer, 'mcp'),
    paywall: pw,
  };
}

/** `result` with `meta` merged into its `_meta` (unchanged when there is none). */
function withMeta(result: CallToolResult, meta: Record<string, unknown>): CallToolResult {
  return Object.keys(meta).length === 0 ? result : { ...result, _meta: { ...result._meta, ...meta } };
}

/**
 * The answer to a metering close (`_meta["x402-rails/metering"].close`): the tool does not run; the close answer
 * (`{ session, receipt, refund, settlement? }`: final receipt and refund) is the result's `structuredContent` and text.
 */
async function closedSessionResult(response: Response): Promise<CallToolResult> {
  const text = await response.text();
  let closed: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) closed = { ...parsed };
  } catch {
    closed = {};
  }
  return { structuredContent: closed, content: [{ type: 'text', text }] };
}

/** The tool result an answer given again carries in its body (see payment-identifier), when it is one. */
async function keptResult(response: Response): Promise<CallToolResult | undefined> {
  try {
    const parsed = CallToolResultSchema.safeParse(JSON.parse(await response.text()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const ErrorBodySchema = z.object({
  code: z.string().max(128),
  reason: z.string().max(128).optional(),
  message: z.string().max(2048),
});

/** The error body of a flow answer (409, 400, 413, 503…), as the HTTP paywall wrote it. */
async function readErrorBody(response: Response): Promise<ToolPaymentError> {
  const text = await response.text().catch(() => '');
  let parsed: z.infer<typeof ErrorBodySchema> | undefined;
  try {
    const r = ErrorBodySchema.safeParse(JSON.parse(text));
    parsed = r.success ? r.data : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    status: response.status,
    code: parsed?.code ?? 'UNKNOWN',
    ...(parsed?.reason ? { reason: parsed.reason } : {}),
    message: parsed?.message ?? `The payment flow answered ${response.status}.`,
  };
}

/** An error result that is neither a payment request nor the tool's own (replay refused, malformed payment, rail down). */
function errorResult(error: ToolPaymentError, paymentResponse?: unknown): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: error.message }],
    _meta: {
      [mcpMetaKeys.error]: error,
      ...(paymentResponse ? { [mcpMetaKeys.paymentResponse]: paymentResponse } : {}),
    },
  };
}

function isToolExtra(value: unknown): value is ToolExtra {
  if (typeof value !== 'object' || value === null || !('_meta' in value)) return false;
  return value._meta === undefined || (typeof value._meta === 'object' && value._meta !== null);
}

function isArguments(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
