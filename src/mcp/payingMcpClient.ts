import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MalformedInputError, errorCodes } from '../core/errors';
import { createBudgetLedger } from '../client/budgetLedger';
import { createCapabilityWallet, type CapabilityWallet } from '../client/capabilityWallet';
import { createOriginStrikes } from '../client/originStrikes';
import { payingFetch, type FetchLike, type PayingFetchOptions } from '../client/payingFetch';
import { receiptOf, type PaymentOutcome } from '../client/paymentOutcome';
import {
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  headerNames,
} from '../protocol/headers';
import { credentialHeadersOfResult, credentialMetaOfHeaders } from './toolCredentials';
import { mcpMetaKeys, toolCallBody, toolNameOf, toolResourceUrl } from './toolResource';
import { paymentRequiredOf, paymentResponseOf, type ToolPaymentError } from './toolResults';

/** Options of {@link payingMcpClient}: those of `payingFetch` (adapters, wallets, policy, budgets, resend…). */
export type PayingMcpClientOptions = Omit<PayingFetchOptions, 'origin' | 'capabilities'> & {
  /**
   * The MCP server's receipt issuer, e.g. `https://tools.example.com` (over Streamable HTTP, the origin of its URL):
   * budgets and strikes count per origin, receipts must name it, and its JWKS is fetched from it.
   */
  origin: string;
  /** Fetches the issuer's JWKS (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /**
   * Capabilities bought from this server (`_meta["x402-rails/capability-response"].token`), presented instead of
   * paying on the next calls of the tools they cover until it says they ran out (default: a wallet of this client's
   * own; `false` never presents one). Give each MCP server its own wallet: tool resources are `mcp://tool/<name>`
   * on every server.
   */
  capabilities?: CapabilityWallet | false;
};

/** One `tools/call`, as `Client.callTool` takes it. */
export type ToolCallParams = { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> };

/** A paying MCP client. */
export type PayingMcpClient = {
  /**
   * Calls a tool; when it answers the x402 payment-required result, negotiates a rail under the policy, reserves the
   * amount, pays, and calls again with `_meta["x402/payment"]`. Returns the tool's result; `toolPaymentOf(result)`
   * has the payment outcome (receipt checked against the issuer's JWKS and bound to this tool and these arguments).
   * Throws NoAcceptableOfferError when nothing may be paid (nothing is paid then).
   */
  callTool(params: ToolCallParams, options?: RequestOptions): Promise<CallToolResult>;
};

const outcomes = new WeakMap<CallToolResult, PaymentOutcome>();
/** Header naming a pending call inside the client; it never leaves this process. */
const CALL_ID = 'x-x402-rails-mcp-call';

/**
 * The payment outcome of a result returned by {@link PayingMcpClient.callTool}; undefined when the call was free.
 *
 * @example console.log(toolPaymentOf(result)?.receipt?.reference);
 */
export function toolPaymentOf(result: CallToolResult): PaymentOutcome | undefined {
  return outcomes.get(result);
}

/**
 * Wraps an MCP SDK `Client` so that paid tools are paid: the same negotiation, adapters, wallets, spending policy,
 * budgets, strikes, resends and receipt checks as `payingFetch`, which it runs over the tool call (a call is
 * `POST mcp://tool/<name>` with its canonical arguments as body, exactly as `mcpPaywall` binds it). Share `ledger` with
 * a `payingFetch` to share one budget across HTTP and MCP.
 *
 * @example
 * const paying = payingMcpClient(client, { adapters: [evmEip3009Client()], wallets: [evmWallet(account)], policy, origin: 'https://tools.example.com' });
 * const result = await paying.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
 */
export function payingMcpClient(client: Pick<Client, 'callTool'>, options: PayingMcpClientOptions): PayingMcpClient {
  const pending = new Map<string, { params: ToolCallParams; options: RequestOptions | undefined }>();
  const jwksFetch = options.fetch ?? ((input, init) => fetch(input, init));

  const transport: FetchLike = async (input, init) => {
    const request = new Request(input, init);
    const name = toolNameOf(request.url);
    if (name === undefined) return jwksFetch(request);
    const call = pending.get(request.headers.get(CALL_ID) ?? '');
    if (!call) throw new MalformedInputError(errorCodes.HEADER_SCHEMA, 'An MCP tool call was sent outside callTool().');
    const signature = request.headers.get(headerNames.paymentSignature);
    const meta = {
      ...call.params._meta,
      ...credentialMetaOfHeaders(request.headers),
      ...(signature === null ? {} : { [mcpMetaKeys.payment]: decodePaymentSignatureHeader(signature) }),
    };
    const result = await client.callTool(
      { name, arguments: call.params.arguments ?? {}, ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}) },
      CallToolResultSchema,
      call.options,
    );
    return responseOf(CallToolResultSchema.parse(result));
  };
  const pay = payingFetch(transport, {
    ...options,
    origin: options.origin,
    capabilities: options.capabilities ?? createCapabilityWallet(),
    ledger: options.ledger ?? createBudgetLedger(options.policy?.budgets ?? []),
    strikes: options.strikes ?? createOriginStrikes(),
  });

  return {
    async callTool(params, requestOptions) {
      const id = randomUUID();
      pending.set(id, { params, options: requestOptions });
      try {
        const response = await pay(toolResourceUrl(params.name), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [CALL_ID]: id },
          body: toolCallBody(params.arguments),
          ...(requestOptions?.signal ? { signal: requestOptions.signal } : {}),
        });
        const result = CallToolResultSchema.parse(JSON.parse(await response.text()));
        const outcome = receiptOf(response);
        if (outcome) outcomes.set(result, outcome);
        return result;
      } finally {
        pending.delete(id);
      }
    },
  };
}

/**
 * A tool result as the HTTP answer the same outcome has: 402 with PAYMENT-REQUIRED for a payment request, the
 * status of an x402-rails error, else 200; PAYMENT-RESPONSE when the result carries a settlement. The body is the
 * result itself.
 */
function responseOf(result: CallToolResult): Response {
  const headers = new Headers({ 'Content-Type': 'application/json' });
  const body = JSON.stringify(result);
  const required = paymentRequiredOf(result);
  if (required) {
    headers.set(headerNames.paymentRequired, encodePaymentRequiredHeader(required));
    credentialHeadersOfResult(result, headers);
    return new Response(body, { status: 402, headers });
  }
  const settled = paymentResponseOf(result);
  if (settled) headers.set(headerNames.paymentResponse, encodePaymentResponseHeader(settled));
  credentialHeadersOfResult(result, headers);
  const error = result._meta?.[mcpMetaKeys.error];
  const status = isToolPaymentError(error) && error.status >= 400 && error.status <= 599 ? error.status : 200;
  return new Response(body, { status, headers });
}

function isToolPaymentError(value: unknown): value is ToolPaymentError {
  return typeof value === 'object' && value !== null && 'status' in value && typeof value.status === 'number';
}
