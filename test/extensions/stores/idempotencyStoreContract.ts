/**
 * The contract every `payment-identifier` idempotency store passes (memory, SQLite, Redis, Postgres): `store` and
 * `peer` are two handles on the same data (two connections, two clients, two pools: a second instance or a restarted
 * one), so an id reserved or answered through one is seen through the other.
 */
import { describe, expect, it } from 'vitest';
import type { CachedResponse, IdempotencyStore } from '../../../src/extensions/idempotencyStore';

/** Two handles on one store's data, and how to release them. */
export type IdempotencyStorePair = { store: IdempotencyStore; peer: IdempotencyStore; close(): void | Promise<void> };

const TTL = 60_000;
let ids = 0;
const freshKey = () => `POST /report:pid_${Date.now()}_${ids++}_abcdefghijklmnop`;
const answer = (text: string): CachedResponse => ({
  status: 200,
  headers: [
    ['content-type', 'application/json'],
    ['payment-response', 'eyJzdWNjZXNzIjp0cnVlfQ=='],
  ],
  body: new Uint8Array([...new TextEncoder().encode(text), 0, 255]),
});

/** Runs the contract against pairs made by `make` (a fresh pair per test). */
export function describeIdempotencyStoreContract(
  name: string,
  make: () => IdempotencyStorePair | Promise<IdempotencyStorePair>,
): void {
  // The first test of a suite also opens its store (an embedded PGlite boots in seconds on a busy machine).
  describe(`idempotency store contract: ${name}`, { timeout: 90_000 }, () => {
    const withPair = (test: (pair: IdempotencyStorePair) => Promise<void>) => async () => {
      const pair = await make();
      try {
        await test(pair);
      } finally {
        await pair.close();
      }
    };

    it(
      'the first reserve of an id takes it; later ones (this handle or the other) see its fingerprint, then its answer byte for byte',
      withPair(async ({ store, peer }) => {
        const key = freshKey();
        const now = Date.now();
        expect(await store.reserve(key, 'fp-a', TTL, now)).toBeUndefined();
        expect(await peer.reserve(key, 'fp-a', TTL, now)).toEqual({ fingerprint: 'fp-a' });
        expect(await peer.reserve(key, 'fp-b', TTL, now)).toEqual({ fingerprint: 'fp-a' });
        await store.complete(key, 'fp-a', answer('{"report":1}'), TTL, now);
        expect(await peer.reserve(key, 'fp-a', TTL, now)).toEqual({
          fingerprint: 'fp-a',
          response: answer('{"report":1}'),
        });
        // Another payment under the same id sees the first one's fingerprint (the paywall answers 409).
        expect((await store.reserve(key, 'fp-b', TTL, now))?.fingerprint).toBe('fp-a');
      }),
    );

    it(
      'an answer under another fingerprint never replaces the one on record',
      withPair(async ({ store, peer }) => {
        const key = freshKey();
        const now = Date.now();
        await store.reserve(key, 'fp-a', TTL, now);
        await peer.complete(key, 'fp-b', answer('intruder'), TTL, now);
        expect(await store.reserve(key, 'fp-a', TTL, now)).toEqual({ fingerprint: 'fp-a' });
        await store.complete(key, 'fp-a', answer('mine'), TTL, now);
        await peer.complete(key, 'fp-b', answer('intruder'), TTL, now);
        expect(await peer.reserve(key, 'fp-a', TTL, now)).toEqual({ fingerprint: 'fp-a', response: answer('mine') });
      }),
    );

    it(
      'twenty concurrent first uses of one id through both handles: exactly one reserves it',
      withPair(async ({ store, peer }) => {
        const key = freshKey();
        const now = Date.now();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : peer).reserve(key, `fp-${i}`, TTL, now)),
        );
        const winners = results.filter((r) => r === undefined);
        expect(winners).toHaveLength(1);
        const winner = `fp-${results.indexOf(undefined)}`;
        for (const r of results) if (r !== undefined) expect(r.fingerprint).toBe(winner);
      }),
    );

    it(
      'an id expires with its ttl: then it can be reserved again, by another payment',
      withPair(async ({ store, peer }) => {
        const key = freshKey();
        const start = Date.now();
        expect(await store.reserve(key, 'fp-a', 150, start)).toBeUndefined();
        await store.complete(key, 'fp-a', answer('old'), 150, start);
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect(await peer.reserve(key, 'fp-b', TTL, Date.now())).toBeUndefined();
        expect(await store.reserve(key, 'fp-a', TTL, Date.now())).toEqual({ fingerprint: 'fp-b' });
      }),
    );
  });
}
