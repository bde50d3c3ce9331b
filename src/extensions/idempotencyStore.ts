/** A response kept for a payment id: what the first answer was, to give it again without charging. */
export type CachedResponse = { status: number; headers: Array<[string, string]>; body: Uint8Array };

/** What a store holds for one payment id: the payment it was first seen with, and its answer once there is one. */
export type IdempotencyEntry = { fingerprint: string; response?: CachedResponse };

/**
 * Where `payment-identifier` keeps ids. `reserve` is atomic: the first caller records its fingerprint and gets
 * undefined; later callers get the entry on record. Entries expire after `ttlMs`.
 */
export type IdempotencyStore = {
  reserve(key: string, fingerprint: string, ttlMs: number, now: number): Promise<IdempotencyEntry | undefined>;
  /** Records the answer of the reserved id. */
  complete(key: string, fingerprint: string, response: CachedResponse, ttlMs: number, now: number): Promise<void>;
};

/**
 * An in-process idempotency store (one server instance), holding at most `maxEntries` ids (oldest dropped first).
 *
 * @example paymentIdentifier({ store: createMemoryIdempotencyStore() })
 */
export function createMemoryIdempotencyStore(maxEntries = 10_000): IdempotencyStore {
  const entries = new Map<string, IdempotencyEntry & { until: number }>();
  const live = (key: string, now: number) => {
    const entry = entries.get(key);
    if (entry && entry.until <= now) entries.delete(key);
    return entry && entry.until > now ? entry : undefined;
  };
  const put = (key: string, entry: IdempotencyEntry & { until: number }) => {
    entries.delete(key);
    entries.set(key, entry);
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value ?? '');
  };
  return {
    async reserve(key, fingerprint, ttlMs, now) {
      const entry = live(key, now);
      if (entry)
        return entry.response
          ? { fingerprint: entry.fingerprint, response: entry.response }
          : { fingerprint: entry.fingerprint };
      put(key, { fingerprint, until: now + ttlMs });
      return undefined;
    },
    async complete(key, fingerprint, response, ttlMs, now) {
      const entry = live(key, now);
      if (entry && entry.fingerprint !== fingerprint) return;
      put(key, { fingerprint, response, until: now + ttlMs });
    },
  };
}
