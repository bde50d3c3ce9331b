import { SettlementPendingError } from '../core/errors';
import type { ServerRail, SettleResult } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import type { PaymentRecord, PaymentStore } from '../stores/paymentStore';
import { issueReceipt } from '../server/issueReceipt';
import { matchPayment, type MatchedPayment } from './matchPayment';
import { SETTLEMENT_PENDING, type FacilitatorRequest, type SettleResponse } from './wire';

/** What {@link settlePayment} needs. */
export type SettleDeps = {
  rails: readonly ServerRail[];
  store: PaymentStore;
  /** Signs the receipt the store keeps of each settlement. */
  signer: () => Promise<ReceiptSigner>;
  issuer: string;
  /** How long a claim lasts while a settlement runs, ms. */
  leaseMs: number;
  now: () => number;
  /** How long a repeat of a pending settlement waits for it to land before answering pending again, ms. */
  reconcileWaitMs: number;
  /** Serializes reconciliations of one payment within this process. */
  lock: <T>(key: string, task: () => Promise<T>) => Promise<T>;
};

const WAIT_STEP_MS = 20;
const RECONCILE_STEP_MS = 250;

/**
 * `POST /settle`, idempotent per payment (the rail's payment id): the first request claims the payment,
 * verifies and settles it; a repeat (or a concurrent duplicate, which waits for the first) gets the same
 * SettleResponse and never pays twice. A broadcast not confirmed in time answers
 * `{ success: false, errorReason: 'settlement_pending', transaction }` and is recorded; a repeat then
 * reconciles: it waits up to `reconcileWaitMs` for the payment to stop verifying as unspent (the broadcast
 * landed), then lets the rail's idempotent settle find the earlier transaction; while it still verifies as
 * unspent nothing is re-sent and the answer stays pending with the same transaction.
 * Bad payments are answers (`success: false` + reason); rail outages throw `RailUnavailableError`.
 *
 * @example
 * await settlePayment(deps, body); // { success: true, transaction: '0x…', network: 'eip155:31337', payer, amount }
 */
export async function settlePayment(deps: SettleDeps, body: FacilitatorRequest): Promise<SettleResponse> {
  const network = body.paymentRequirements.network;
  const matched = matchPayment(deps.rails, body, deps.now());
  if ('reason' in matched) return failure(network, matched.reason, matched.message);

  const deadline = deps.now() + deps.leaseMs;
  for (let attempt = 0; ; attempt++) {
    const claim = await deps.store.claim(matched.paymentId, matched.requestKey, deps.leaseMs);
    if (claim.claimed) return settleClaimed(deps, matched);
    let record: PaymentRecord | undefined = claim.record;
    while (record?.state === 'in_flight' && deps.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
      record = await deps.store.get(matched.paymentId);
    }
    if (record === undefined) continue; // the first attempt moved nothing and released it: claim afresh
    if (record.state === 'in_flight') {
      if (attempt < 2) continue; // its lease has run out: claim it
      return failure(
        network,
        'settlement_in_progress',
        'This payment is being settled by another request. Repeat this request shortly.',
      );
    }
    if (record.requestKey !== matched.requestKey) {
      return failure(network, 'payment_already_used', 'This payment was already settled for other requirements.');
    }
    if (record.state === 'settled') return successOf(record.receipt);
    const reconciled = await reconcile(deps, matched);
    if (reconciled) return reconciled;
  }
}

async function settleClaimed(deps: SettleDeps, m: MatchedPayment): Promise<SettleResponse> {
  const network = m.requirements.network;
  let settling = false;
  try {
    const verification = await m.rail.verify(m.payload, m.requirements, m.ctx);
    if (!verification.isValid) {
      await deps.store.release(m.paymentId);
      return failure(network, verification.reason, verification.message, verification.payer);
    }
    settling = true;
    return await record(deps, m, await m.rail.settle(m.payload, m.requirements, m.ctx), { releaseOnFailure: true });
  } catch (error) {
    if (settling && error instanceof SettlementPendingError)
      return record(
        deps,
        m,
        { status: 'pending', reference: error.reference, message: error.message },
        { releaseOnFailure: true },
      );
    // Rails throw only when nothing was broadcast, so the claim can be freed for a retry.
    await deps.store.release(m.paymentId);
    throw error;
  }
}

/** A repeat of a pending settlement: look at the chain through the rail, never broadcast twice while in doubt. */
function reconcile(deps: SettleDeps, m: MatchedPayment): Promise<SettleResponse | undefined> {
  return deps.lock(m.paymentId, async () => {
    const current = await deps.store.get(m.paymentId);
    if (current?.state === 'settled') return successOf(current.receipt);
    if (current?.state !== 'pending') return undefined; // changed meanwhile: the caller claims afresh
    const verify = () => m.rail.verify(m.payload, m.requirements, { ...m.ctx, now: deps.now() });
    const waitUntil = deps.now() + deps.reconcileWaitMs;
    let verification = await verify();
    while (verification.isValid && deps.now() < waitUntil) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(RECONCILE_STEP_MS, deps.reconcileWaitMs)));
      verification = await verify();
    }
    // Still spendable: the earlier broadcast has not landed. Sending it again could only waste gas or race it.
    if (verification.isValid)
      return pending(
        m.requirements.network,
        current.reference,
        'The settlement transaction is broadcast but not confirmed yet. Repeat this request later.',
      );
    const settlement = await m.rail.settle(m.payload, m.requirements, { ...m.ctx, now: deps.now() });
    return record(deps, m, settlement, { releaseOnFailure: false, reference: current.reference });
  });
}

async function record(
  deps: SettleDeps,
  m: MatchedPayment,
  settlement: SettleResult,
  options: { releaseOnFailure: boolean; reference?: string },
): Promise<SettleResponse> {
  const network = m.requirements.network;
  if (settlement.status === 'settled') {
    const receipt = await issueReceipt({
      signer: await deps.signer(),
      issuer: deps.issuer,
      railId: m.rail.id,
      accepted: m.requirements,
      settlement,
      binding: m.ctx.request,
      challengeId: '',
      now: deps.now(),
    });
    await deps.store.settle(m.paymentId, receipt);
    return successOf(receipt);
  }
  if (settlement.status === 'pending') {
    await deps.store.markPending(m.paymentId, m.rail.id, settlement.reference);
    return pending(network, settlement.reference, settlement.message);
  }
  // A failed settlement moved no money; a first attempt frees the claim, a reconciliation keeps the record.
  if (options.releaseOnFailure) await deps.store.release(m.paymentId);
  return {
    ...failure(network, settlement.reason, settlement.message),
    transaction: settlement.reference ?? options.reference ?? '',
  };
}

function successOf(receipt: SignedReceipt): SettleResponse {
  return {
    success: true,
    transaction: receipt.reference,
    network: receipt.network,
    payer: receipt.payer,
    amount: receipt.amount,
  };
}

function pending(network: SettleResponse['network'], transaction: string, message: string): SettleResponse {
  return { success: false, errorReason: SETTLEMENT_PENDING, errorMessage: message, transaction, network };
}

function failure(network: SettleResponse['network'], reason: string, message: string, payer?: string): SettleResponse {
  return {
    success: false,
    errorReason: reason,
    errorMessage: message,
    transaction: '',
    network,
    ...(payer !== undefined ? { payer } : {}),
  };
}
