import { decodePaymentRequiredHeader, decodePaymentResponseHeader, headerNames } from '../protocol/headers';
import type { SettleResponse } from '../protocol/schemas';
import type { ConformanceScenarioId } from './scenarios';
import { check } from './conformanceFailure';
import type { ConformanceBalances, RailConformanceSetup } from './setup';

const REASON = /^[a-z][a-z0-9_]*$/;

/**
 * Checks that `res` refuses a payment: 402 with a fresh challenge whose `error` is a snake_case reason (or, when
 * `allow400`, a 400 whose JSON body names a code), and no PAYMENT-RESPONSE. Returns the reason.
 */
export async function expectRefused(
  res: Response,
  setup: RailConformanceSetup,
  scenario: ConformanceScenarioId,
  options: { allow400?: boolean } = {},
): Promise<string> {
  check(res.headers.get(headerNames.paymentResponse) === null, 'A refused payment must carry no PAYMENT-RESPONSE.');
  if (res.status === 400 && options.allow400) {
    const body: unknown = await res.json().catch(() => undefined);
    const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const named =
      typeof record.reason === 'string' ? record.reason : typeof record.code === 'string' ? record.code : undefined;
    check(named !== undefined && named.length > 0, 'A 400 must say why in its JSON body (reason or code).', { body });
    return named;
  }
  await expectStatus(res, 402, `The payment must be refused with 402${options.allow400 ? ' (or 400)' : ''}.`);
  const header = res.headers.get(headerNames.paymentRequired);
  check(header !== null, 'A 402 refusal must carry a fresh PAYMENT-REQUIRED challenge.');
  await drain(res);
  const required = decodePaymentRequiredHeader(header);
  const reason = required.error ?? '';
  check(REASON.test(reason), 'A 402 refusal must name a snake_case reason in PAYMENT-REQUIRED `error`.', {
    error: required.error,
  });
  check(required.accepts.length > 0, 'A 402 refusal must offer a fresh challenge.');
  expectReason(setup, scenario, reason);
  return reason;
}

/** Checks the reason against the setup's pinned `expectReasons`, if any. */
export function expectReason(setup: RailConformanceSetup, scenario: ConformanceScenarioId, reason: string): void {
  const pinned = setup.expectReasons?.[scenario];
  if (pinned === undefined) return;
  const allowed: readonly string[] = typeof pinned === 'string' ? [pinned] : pinned;
  check(allowed.includes(reason), `Scenario ${scenario} must be refused with ${allowed.join(' or ')}.`, { reason });
}

/** Checks that no balance moved. */
export function expectUnmoved(before: ConformanceBalances, after: ConformanceBalances): void {
  check(before.payer === after.payer && before.payee === after.payee, 'No balance may move.', { before, after });
}

/** Checks that the payer paid and the payee received exactly `payerPaid` / `payeeGot`. */
export function expectMoved(
  before: ConformanceBalances,
  after: ConformanceBalances,
  payerPaid: bigint,
  payeeGot: bigint,
): void {
  check(before.payer - after.payer === payerPaid, `The payer's balance must fall by exactly ${payerPaid}.`, {
    before,
    after,
  });
  check(after.payee - before.payee === payeeGot, `The payee's balance must rise by exactly ${payeeGot}.`, {
    before,
    after,
  });
}

/** The decoded PAYMENT-RESPONSE of a paid answer. */
export function settleResponseOf(res: Response): SettleResponse {
  const header = res.headers.get(headerNames.paymentResponse);
  check(header !== null, 'A paid answer must carry PAYMENT-RESPONSE.', { status: res.status });
  return decodePaymentResponseHeader(header);
}

/** The body text, for failure messages (bounded). */
export async function safeText(res: Response): Promise<string> {
  try {
    return (await res.text()).slice(0, 500);
  } catch {
    return '';
  }
}

/** Reads and drops a body (in-process responses hold no socket, but a body left unread holds its stream). */
export async function drain(res: Response): Promise<void> {
  if (res.bodyUsed) return;
  await res.arrayBuffer().catch(() => undefined);
}

/** Checks a response's status; on a mismatch the failure shows the start of its body. */
export async function expectStatus(res: Response, status: number, message: string): Promise<void> {
  if (res.status !== status) check(false, message, { status: res.status, body: await safeText(res) });
}
