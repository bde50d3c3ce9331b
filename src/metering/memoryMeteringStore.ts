import type { MeteringStore } from './meteringStore';
import { isDueForSettlement, meteringStoreOver } from './meteringStoreOver';
import type { MeterSession } from './meterSession';

/**
 * A metering store in process memory (one instance; sessions are lost on restart, and with them the
 * record of what a client may get refunded: use the SQLite or Redis store when that matters). Every decision
 * completes without awaiting, so reservations are atomic under any concurrency.
 *
 * @example const meter = metering({ token, signer, routes, store: createMemoryMeteringStore() });
 */
export function createMemoryMeteringStore(): MeteringStore {
  const sessions = new Map<string, MeterSession>();
  return meteringStoreOver(
    async (id, decide) => {
      const { result, next } = decide(sessions.get(id));
      if (next) sessions.set(id, next);
      return result;
    },
    async (id) => sessions.get(id),
    async (now, limit) =>
      [...sessions.values()]
        .filter((s) => isDueForSettlement(s, now))
        .sort((a, b) => a.expiresAt - b.expiresAt)
        .slice(0, limit),
  );
}
