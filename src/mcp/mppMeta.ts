import { errorCodes } from '../core/errors';
import { headerNames } from '../protocol/headers';
import {
  mppHeaderNames,
  parseMppChallengeObject,
  parseMppChallenges,
  type MppChallenge,
} from '../protocol/mpp/mppChallenge';
import { serializeMppCredential } from '../protocol/mpp/mppCredential';
import { parseMppReceipt, type MppReceipt } from '../protocol/mpp/mppReceipt';
import type { ToolPaymentError } from './toolResults';

/**
 * MPP (`Payment`) over MCP, as mppx 0.11 speaks it (`mppx/mcp-sdk/client`, `mppx/mcp-sdk/server`): the challenges of
 * an unpaid call in `_meta["org.paymentauth/payment-required"]` = `{ httpStatus: 402, challenges }` of the result (or
 * a JSON-RPC error −32042 with the same data — which the SDK's McpServer turns into a plain error result, so a tool
 * result is what reaches a client through it), the credential in `params._meta["org.paymentauth/credential"]` as
 * the decoded object `{ challenge (request decoded), payload, source? }`, and the receipt in the paid result's
 * `_meta["org.paymentauth/receipt"]` with its `challengeId`. A paid call is the same `POST mcp://tool/<name>` through
 * the same paywall: the credential becomes `Authorization: Payment`, the 402's `WWW-Authenticate: Payment`
 * challenges and the answer's `Payment-Receipt` come back as these meta entries.
 */

/** The `_meta` keys of MPP over MCP. */
export const mppMcpMetaKeys = {
  credential: 'org.paymentauth/credential',
  paymentRequired: 'org.paymentauth/payment-required',
  receipt: 'org.paymentauth/receipt',
} as const;

/** What `_meta["org.paymentauth/payment-required"]` carries. */
export type MppPaymentRequiredMeta = { httpStatus: number; challenges: MppChallenge[] };

/**
 * The `Authorization: Payment` value for an MCP credential object, or undefined when it is not one (no challenge
 * object with a decoded `request`, no payload object).
 */
export function mppCredentialHeaderOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { challenge, payload, source } = value as Record<string, unknown>;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  if (source !== undefined && (typeof source !== 'string' || source.length > 512)) return undefined;
  try {
    const parsed = parseMppChallengeObject(challenge, 'Authorization');
    return serializeMppCredential({
      challenge: parsed,
      payload: payload as Record<string, unknown>,
      ...(source !== undefined ? { source } : {}),
    });
  } catch {
    return undefined;
  }
}

/** The payment-required meta of a 402 with `WWW-Authenticate: Payment` challenges; undefined when it has none. */
export function mppPaymentRequiredOf(response: Response): MppPaymentRequiredMeta | undefined {
  const header = response.headers.get(headerNames.wwwAuthenticate);
  if (header === null) return undefined;
  try {
    const challenges = parseMppChallenges(header);
    return challenges.length > 0 ? { httpStatus: response.status, challenges } : undefined;
  } catch {
    return undefined;
  }
}

/** The MPP receipt of a paid answer (`Payment-Receipt`), for the result's meta; undefined when it has none. */
export function mppReceiptOf(response: Response): MppReceipt | undefined {
  const header = response.headers.get(mppHeaderNames.paymentReceipt);
  if (header === null) return undefined;
  try {
    return parseMppReceipt(header);
  } catch {
    return undefined;
  }
}

/**
 * The `Authorization: Payment` header a tool call's `_meta["org.paymentauth/credential"]` stands for (none without
 * one), or the 400 error for one that is not a Payment credential.
 */
export function mppCredentialHeadersOf(
  meta: Record<string, unknown> | undefined,
): { headers: Record<string, string> } | { error: ToolPaymentError } {
  const credential = meta?.[mppMcpMetaKeys.credential];
  if (credential === undefined) return { headers: {} };
  const authorization = mppCredentialHeaderOf(credential);
  if (authorization === undefined)
    return {
      error: {
        status: 400,
        code: errorCodes.HEADER_SCHEMA,
        reason: 'invalid_payload',
        message: `_meta["${mppMcpMetaKeys.credential}"] is not a Payment credential ({ challenge, payload, source? }).`,
      },
    };
  return { headers: { [headerNames.authorization]: authorization } };
}

/** The MPP `_meta` entries of an answer of the payment flow: its Payment challenges (402) and its Payment-Receipt. */
export function mppMetaOf(response: Response): Record<string, unknown> {
  const required = response.status === 402 ? mppPaymentRequiredOf(response) : undefined;
  const receipt = mppReceiptOf(response);
  return {
    ...(required ? { [mppMcpMetaKeys.paymentRequired]: required } : {}),
    ...(receipt ? { [mppMcpMetaKeys.receipt]: receipt } : {}),
  };
}
