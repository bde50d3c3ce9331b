import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RECEIPT_EXTENSION_KEY, SignedReceiptSchema } from '../../src/core/receipt/receipt';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from '../../src/protocol/headers';
import { paywall } from '../../src/server/paywall';
import type { RoutesConfig } from '../../src/server/routes';
import type { PaymentStore } from '../../src/stores/paymentStore';
import { createRedisPaymentStore } from '../../src/stores/redisPaymentStore';
import { createSqlitePaymentStore } from '../../src/stores/sqlitePaymentStore';
import { redisServerBinary, startRedisServer } from '../support/redisServer';
import { createFakeLedger, fakeRail } from '../unit/support/fakeRail';

const ORIGIN = 'http://shop.test';
const routes: RoutesConfig = { 'GET /single': { accepts: [{ rail: 'fake-exact', amount: 10n }] } };

/**
 * Two paywall instances (two "servers") behind one load balancer, each with its own connection to one shared
 * store, get the same payment 200 times at once: one settlement, one receipt; the request is served once plus
 * the replay bound (3) between both servers, every other answer is 409 `replay_limit_reached` carrying the receipt.
 */
async function replayAcrossTwoServers(stores: [PaymentStore, PaymentStore]) {
  const ledger = createFakeLedger();
  const alice = ledger.open('alice', 1_000n);
  const calls = { quote: 0, verify: 0, settle: 0 };
  const rail = fakeRail({ ledger, calls, payTo: 'merchant', settleDelayMs: 30 });
  const signer = await createReceiptSigner();
  const challengeSecret = randomBytes(32);
  const handlerRuns = { count: 0 };
  const apps = stores.map((store) =>
    paywall(routes, { rails: [rail], signer, store, challengeSecret }).wrap(() => {
      handlerRuns.count++;
      return Response.json({ ok: true });
    }),
  );
  const [a, b] = apps;
  if (!a || !b) throw new Error('two apps');
  const challenge = decodePaymentRequiredHeader(
    (await a(new Request(`${ORIGIN}/single`))).headers.get('PAYMENT-REQUIRED') ?? '',
  );
  const offer = challenge.accepts[0];
  if (!offer) throw new Error('no offer');
  const payload = await rail.createPayment(offer, alice, {
    resource: { url: ORIGIN },
    x402Version: 2,
    now: Date.now(),
  });
  const header = encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload });

  const responses = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      (i % 2 === 0 ? a : b)(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } })),
    ),
  );
  const receiptIds = new Set<string>();
  let served = 0;
  for (const res of responses) {
    const settle = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '');
    receiptIds.add(SignedReceiptSchema.parse(settle.extensions?.[RECEIPT_EXTENSION_KEY]).id);
    if (res.status === 200) served++;
    else {
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ reason: 'replay_limit_reached' });
    }
  }
  expect(served).toBe(4);
  expect(handlerRuns.count).toBe(4);
  expect(calls.settle).toBe(1);
  expect(ledger.transfers).toHaveLength(1);
  expect(ledger.balanceOf('alice')).toBe(990n);
  expect(receiptIds.size).toBe(1);
  // a retry after the dust settles gets the same receipt from either server, and no more service
  for (const app of apps) {
    const again = await app(new Request(`${ORIGIN}/single`, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(again.status).toBe(409);
    const settle = decodePaymentResponseHeader(again.headers.get('PAYMENT-RESPONSE') ?? '');
    expect(receiptIds.has(SignedReceiptSchema.parse(settle.extensions?.[RECEIPT_EXTENSION_KEY]).id)).toBe(true);
  }
  expect(handlerRuns.count).toBe(4);
}

describe('two paywalls sharing one durable store', () => {
  it('SQLite file, two connections: 200 concurrent replays of one payment → one settlement, one receipt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-shared-'));
    const path = join(dir, 'store.sqlite');
    const stores: [ReturnType<typeof createSqlitePaymentStore>, ReturnType<typeof createSqlitePaymentStore>] = [
      createSqlitePaymentStore({ path }),
      createSqlitePaymentStore({ path }),
    ];
    try {
      await replayAcrossTwoServers(stores);
    } finally {
      for (const s of stores) s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const binary = redisServerBinary();
  it.skipIf(!binary)(
    'Redis, two clients: 200 concurrent replays of one payment → one settlement, one receipt',
    async () => {
      const server = await startRedisServer(binary);
      const clients = [new Redis(server.url), new Redis(server.url)];
      try {
        await replayAcrossTwoServers([
          createRedisPaymentStore({ redis: clients[0]! }),
          createRedisPaymentStore({ redis: clients[1]! }),
        ]);
      } finally {
        await Promise.all(clients.map((c) => c.quit()));
        await server.stop();
      }
    },
  );
});
