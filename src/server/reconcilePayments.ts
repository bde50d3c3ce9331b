import { X402RailsError } from '../core/errors';
import type { PaymentFlowDeps } from './paymentFlow';
import { recordSettlement } from './recordSettlement';
import { decodeSettlementIntent } from './settlementIntent';

/** What {@link reconcilePayments} did, by payment id. */
export type ReconcileReport = {
  /** Landed: the receipt is now on record; the client's retry gets it. */
  settled: string[];
  /** Found failed (reverted, dropped, expired): no money moved; recorded `failed` (its handler ran: never served again). */
  failed: string[];
  /** Still unconfirmed, or the rail could not be reached: left pending for the next pass. */
  pending: Array<{ paymentId: string; reason: string }>;
  /** No usable intent on record (written by an older version) or its rail is not configured: left for the client's retry. */
  skipped: Array<{ paymentId: string; reason: string }>;
};

/**
 * Settles every payment left `pending` in the store (a process died, or confirmation timed out) from the
 * intent written at broadcast: asks the rail again (settle is idempotent per payment: it finds the earlier
 * broadcast, it never pays twice), signs and stores the receipt of those that landed and records those that
 * failed as `failed` for good (their handler already ran once; the payment is not served again). Run it at
 * startup and, on a busy server, now and then.
 *
 * @example
 * const pw = paywall(routes, { rails, signer, store: createSqlitePaymentStore({ path }) });
 * const report = await pw.reconcile(); // before serving
 */
export async function reconcilePayments(deps: PaymentFlowDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { settled: [], failed: [], pending: [], skipped: [] };
  for (const { paymentId, record } of await deps.store.listPending()) {
    if (deps.settling.has(paymentId)) continue;
    const intent = decodeSettlementIntent(record.intent);
    const rail = deps.railsById.get(record.rail);
    if (!intent || !rail) {
      report.skipped.push({
        paymentId,
        reason: intent ? `rail "${record.rail}" is not configured` : 'no settlement intent on record',
      });
      continue;
    }
    let settlement;
    try {
      settlement = await rail.settle(intent.payload, intent.accepted, {
        request: intent.binding,
        now: deps.now(),
        paymentId,
        reference: record.reference,
        ...(intent.charge !== undefined ? { charge: intent.charge } : {}),
      });
    } catch (error) {
      if (!(error instanceof X402RailsError)) throw error;
      report.pending.push({ paymentId, reason: error.message });
      continue;
    }
    if (settlement.status === 'pending') report.pending.push({ paymentId, reason: settlement.message });
    else if (settlement.status === 'failed') {
      await deps.store.fail(paymentId, settlement.reason);
      report.failed.push(paymentId);
    } else {
      const subject = {
        paymentId,
        route: intent.route,
        rail: rail.id,
        accepted: intent.accepted,
        binding: intent.binding,
        payer: settlement.payer,
        amount: settlement.amount,
      };
      await recordSettlement(deps, subject, intent.challengeId, settlement);
      report.settled.push(paymentId);
    }
  }
  return report;
}
