import type { SignedReceipt } from '../core/receipt/receipt';
import { issueReceipt } from './issueReceipt';
import { notifySettlement, type PaymentFlowDeps, type SettledResult, type SettlementSubject } from './paymentFlow';

/**
 * Signs the receipt of a settled payment for the request it was made for, stores it (the first receipt on
 * record wins), and, when it is the first, tells the observers and extensions. Every settlement, at first try,
 * on a retry or by reconciliation, goes through here. Answers the receipt on record and whether this call
 * recorded it (`first`: its request is served for the first time; otherwise it is a replay).
 */
export async function recordSettlement(
  deps: PaymentFlowDeps,
  subject: SettlementSubject,
  challengeId: string,
  settlement: SettledResult,
  protocol?: 'x402' | 'l402' | 'mpp',
): Promise<{ receipt: SignedReceipt; first: boolean }> {
  const signed = await issueReceipt({
    signer: deps.signer,
    // Only development and test paywalls run without an issuer (see paywall()): a production receipt never
    // names whatever Host a stranger sent.
    issuer: deps.issuer ?? new URL(subject.binding.url).origin,
    railId: subject.rail,
    accepted: subject.accepted,
    settlement,
    binding: subject.binding,
    challengeId,
    now: deps.now(),
    ...(protocol !== undefined ? { protocol } : {}),
  });
  const receipt = await deps.store.settle(subject.paymentId, signed);
  const first = receipt.id === signed.id;
  if (first) {
    deps.emit({ type: 'settled', route: subject.route, receipt });
    await notifySettlement(deps, subject, { outcome: 'settled', receipt });
  }
  return { receipt, first };
}
