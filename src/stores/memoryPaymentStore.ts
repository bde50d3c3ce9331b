import type { ClaimResult, PaymentRecord, PaymentStore } from './paymentStore';

/**
 * In-memory {@link PaymentStore} for tests and single-process servers that may forget on restart.
 *
 * @example paywall({ routes, rails, store: createMemoryPaymentStore() })
 */
export function createMemoryPaymentStore(options: { now?: () => number } = {}): PaymentStore {
  const now = options.now ?? Date.now;
  const records = new Map<string, PaymentRecord>();
  return {
    async claim(paymentId, requestKey, leaseMs): Promise<ClaimResult> {
      const current = records.get(paymentId);
      if (current && !(current.state === 'in_flight' && current.leaseUntil <= now())) return { claimed: false, record: current };
      records.set(paymentId, { state: 'in_flight', requestKey, leaseUntil: now() + leaseMs });
      return current ? { claimed: true, takeover: true } : { claimed: true };
    },
    async settle(paymentId, receipt) {
      const current = records.get(paymentId);
      if (current?.state === 'settled') return current.receipt;
      const requestKey = current?.requestKey ?? '';
      records.set(paymentId, { state: 'settled', requestKey, receipt });
      return receipt;
    },
    async markPending(paymentId, rail, reference, intent) {
      const current = records.get(paymentId);
      if (current?.state === 'settled') return;
      const requestKey = current?.requestKey ?? '';
      const kept = intent ?? (current?.state === 'pending' ? current.intent : undefined);
      records.set(paymentId, { state: 'pending', requestKey, rail, reference, updatedAt: now(), ...(kept !== undefined ? { intent: kept } : {}) });
    },
    async release(paymentId, state = 'in_flight') {
      if (records.get(paymentId)?.state === state) records.delete(paymentId);
    },
    async expireClaim(paymentId) {
      const current = records.get(paymentId);
      if (current?.state === 'in_flight') records.set(paymentId, { ...current, leaseUntil: 0 });
    },
    async get(paymentId) {
      return records.get(paymentId);
    },
    async listPending() {
      const out: Array<{ paymentId: string; record: Extract<PaymentRecord, { state: 'pending' }> }> = [];
      for (const [paymentId, record] of records) if (record.state === 'pending') out.push({ paymentId, record });
      return out;
    },
  };
}
