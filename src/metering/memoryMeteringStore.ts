import type { MeteringStore } from './meteringStore';
import { commitDraw, refundApplies, reserveDraw, withRefund, type MeterSession } from './meterSession';

/**
 * A metering store in process memory (one instance; sessions are lost on restart, and with them the
 * record of what a client may get refunded: use the SQLite store when that matters). Every operation
 * completes without awaiting, so reservations are atomic under any concurrency.
 *
 * @example const meter = metering({ token, signer, routes, store: createMemoryMeteringStore() });
 */
export function createMemoryMeteringStore(): MeteringStore {
  const sessions = new Map<string, MeterSession>();
  return {
    async open(session) {
      const existing = sessions.get(session.id);
      if (existing) return existing;
      sessions.set(session.id, session);
      return session;
    },
    async reserve(id, amount, now) {
      const { result, next } = reserveDraw(sessions.get(id), amount, now);
      if (next) sessions.set(id, next);
      return result;
    },
    async commit(id, reserved, charged) {
      const session = sessions.get(id);
      if (!session) return undefined;
      const { result, next } = commitDraw(session, reserved, charged);
      sessions.set(id, next);
      return result;
    },
    async close(id) {
      const session = sessions.get(id);
      if (!session) return undefined;
      const next = { ...session, closed: true };
      sessions.set(id, next);
      return next;
    },
    async setRefund(id, expected, refund, finalReceipt) {
      const session = sessions.get(id);
      if (!session || !refundApplies(session, expected)) return { applied: false, ...(session ? { session } : {}) };
      const next = withRefund(session, refund, finalReceipt);
      sessions.set(id, next);
      return { applied: true, session: next };
    },
    async get(id) {
      return sessions.get(id);
    },
  };
}
