import { randomUUID } from '../core/cryptoPrimitives';
import {
  selectSettled,
  type ClaimResult,
  type PaymentRecord,
  type SettledListingStore,
  type SettledPayment,
} from './paymentStore';

/** A record as held here: an in-flight claim also keeps its owner token (never handed out by `get`). */
type Held = { record: PaymentRecord; owner?: string };

/**
 * In-memory {@link PaymentStore} for tests and single-process servers that may forget on restart.
 *
 * @example paywall({ routes, rails, store: createMemoryPaymentStore() })
 */
export function createMemoryPaymentStore(options: { now?: () => number } = {}): SettledListingStore {
  const now = options.now ?? Date.now;
  const records = new Map<string, Held>();
  const set = (paymentId: string, record: PaymentRecord, owner?: string) =>
    records.set(paymentId, owner === undefined ? { record } : { record, owner });
  const holds = (held: Held | undefined, owner: string | undefined) =>
    held?.record.state === 'in_flight' && (owner === undefined || held.owner === owner);
  return {
    async claim(paymentId, requestKey, leaseMs): Promise<ClaimResult> {
      const current = records.get(paymentId)?.record;
      if (current && !(current.state === 'in_flight' && current.leaseUntil <= now()))
        return { claimed: false, record: current };
      const owner = randomUUID();
      set(paymentId, { state: 'in_flight', requestKey, leaseUntil: now() + leaseMs }, owner);
      return current
        ? { claimed: true, owner, takeover: true, takenFrom: current.requestKey }
        : { claimed: true, owner };
    },
    async renew(paymentId, owner, leaseMs) {
      const held = records.get(paymentId);
      if (!held || held.record.state !== 'in_flight' || held.owner !== owner) return false;
      set(paymentId, { ...held.record, leaseUntil: now() + leaseMs }, owner);
      return true;
    },
    async settle(paymentId, receipt) {
      const current = records.get(paymentId)?.record;
      if (current?.state === 'settled') return current.receipt;
      set(paymentId, {
        state: 'settled',
        requestKey: current?.requestKey ?? '',
        receipt,
        settledAt: now(),
        replays: 0,
      });
      return receipt;
    },
    async markPending(paymentId, rail, reference, intent) {
      const current = records.get(paymentId)?.record;
      if (current?.state === 'settled') return;
      const requestKey = current?.requestKey ?? '';
      const kept = intent ?? (current?.state === 'pending' ? current.intent : undefined);
      set(paymentId, {
        state: 'pending',
        requestKey,
        rail,
        reference,
        updatedAt: now(),
        ...(kept !== undefined ? { intent: kept } : {}),
      });
    },
    async fail(paymentId, reason) {
      const current = records.get(paymentId)?.record;
      if (current?.state === 'settled') return;
      set(paymentId, { state: 'failed', requestKey: current?.requestKey ?? '', reason, failedAt: now() });
    },
    async release(paymentId, state = 'in_flight', owner) {
      const held = records.get(paymentId);
      if (held?.record.state !== state) return;
      if (state === 'in_flight' && !holds(held, owner)) return;
      records.delete(paymentId);
    },
    async expireClaim(paymentId, owner, requestKey) {
      const held = records.get(paymentId);
      if (held?.record.state === 'in_flight' && holds(held, owner))
        set(
          paymentId,
          { ...held.record, leaseUntil: 0, ...(requestKey !== undefined ? { requestKey } : {}) },
          held.owner,
        );
    },
    async replay(paymentId, requestKey, policy) {
      const current = records.get(paymentId)?.record;
      if (current?.state !== 'settled' || current.requestKey !== requestKey)
        return { admitted: false, reason: 'not_replayable' };
      if (now() > current.settledAt + policy.windowMs) return { admitted: false, reason: 'replay_window_closed' };
      if (current.replays >= policy.max) return { admitted: false, reason: 'replay_limit_reached' };
      set(paymentId, { ...current, replays: current.replays + 1 });
      return { admitted: true };
    },
    async get(paymentId) {
      return records.get(paymentId)?.record;
    },
    async listPending() {
      const out: Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }> = [];
      for (const [paymentId, { record }] of records) if (record.state === 'pending') out.push({ paymentId, record });
      return out;
    },
    async listSettled(query) {
      const settled: SettledPayment[] = [];
      for (const [paymentId, { record }] of records)
        if (record.state === 'settled') settled.push({ paymentId, record });
      return selectSettled(settled, query);
    },
  };
}
