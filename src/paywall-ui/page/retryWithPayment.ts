import { base64ToJson } from './bytes';
import { describeReason, PageFailure } from './failures';
import type { PageReceipt } from './verifyReceiptInPage';

/** A paid answer: the resource's body as text, its type, and the signed receipt when the server sent one. */
export type PaidAnswer = { status: number; contentType: string; body: string; receipt?: PageReceipt };

const RECEIPT_KEY = 'x402-rails/receipt';

/**
 * Requests the resource again with the payment (`PAYMENT-SIGNATURE` or `Authorization: L402 …`) and reads the
 * answer: the body and the receipt from PAYMENT-RESPONSE, or a refusal put in words (402 with a reason, 409
 * conflicts, 5xx infrastructure). Throws {@link PageFailure}.
 */
export async function retryWithPayment(
  method: string,
  url: string,
  headers: Record<string, string>,
): Promise<PaidAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { Accept: 'application/json, text/plain;q=0.9, */*;q=0.1', ...headers },
      credentials: 'same-origin',
    });
  } catch {
    throw new PageFailure('The server could not be reached. Your payment was not sent; try again.');
  }
  const body = await res.text();
  if (res.status >= 400) throw new PageFailure(refusalOf(res.status, body));
  const header = res.headers.get('PAYMENT-RESPONSE');
  let receipt: PageReceipt | undefined;
  if (header !== null) {
    try {
      const settle = base64ToJson(header) as { extensions?: Record<string, unknown> };
      const candidate = settle.extensions?.[RECEIPT_KEY];
      if (
        typeof candidate === 'object' &&
        candidate !== null &&
        typeof (candidate as { signature?: unknown }).signature === 'string'
      )
        receipt = candidate as PageReceipt;
    } catch {
      receipt = undefined;
    }
  }
  return {
    status: res.status,
    contentType: res.headers.get('Content-Type') ?? '',
    body,
    ...(receipt ? { receipt } : {}),
  };
}

function refusalOf(status: number, body: string): string {
  let parsed: {
    error?: unknown;
    reason?: unknown;
    message?: unknown;
    extensions?: Record<string, { message?: unknown } | undefined>;
  } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = {};
  }
  const reason =
    typeof parsed.reason === 'string' ? parsed.reason : typeof parsed.error === 'string' ? parsed.error : undefined;
  const rejection = parsed.extensions?.['x402-rails/rejection']?.message;
  const message =
    typeof rejection === 'string' ? rejection : typeof parsed.message === 'string' ? parsed.message : undefined;
  if (status === 402) return describeReason(reason, message);
  if (status === 409)
    return `The server refused the payment as a conflict: ${message ?? reason ?? 'it was already used'}.`;
  if (status >= 500)
    return `The server could not complete the payment right now (${status}): ${message ?? 'try again shortly'}.`;
  return `The server refused the request (${status}): ${message ?? reason ?? 'no reason given'}.`;
}
