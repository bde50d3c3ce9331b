/**
 * x402-rails/mcp: paid MCP tools on every rail (x402 MCP transport, tool-result binding). The server prices tools
 * with the same route config and runs the same payment flow as HTTP; the paying client wraps the SDK's `Client`
 * with the same negotiation, policy and budgets as `payingFetch`.
 */
export { mcpPaywall, type McpPaywall, type McpPaywallOptions, type PaidToolsConfig, type ToolCall } from './mcpPaywall';
export {
  payingMcpClient,
  toolPaymentOf,
  type PayingMcpClient,
  type PayingMcpClientOptions,
  type ToolCallParams,
} from './payingMcpClient';
export { paymentRequiredResult, paymentRequiredOf, paymentResponseOf, type ToolPaymentError } from './toolResults';
export { mcpMetaKeys, toolResourceUrl, toolNameOf, toolCallBody, TOOL_NAME } from './toolResource';
export {
  toolCredentialsOf,
  type ToolCapabilityResponse,
  type ToolMeteringResponse,
} from './toolCredentials';
export {
  mppMcpMetaKeys,
  mppCredentialHeaderOf,
  mppCredentialHeadersOf,
  mppMetaOf,
  mppPaymentRequiredOf,
  mppReceiptOf,
  type MppPaymentRequiredMeta,
} from './mppMeta';
