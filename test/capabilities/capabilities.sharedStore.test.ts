/**
 * Several server instances behind one load balancer share a durable capability store (Redis; SQLite for
 * processes on one machine) and one signing key: a capability bought on one instance is honoured on the
 * other, revocation on one is seen by both, and 50 parallel calls spread over both instances on a 10-call
 * capability serve exactly 10.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CapabilityStore } from '../../src/capabilities/capabilityStore';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { peekCapabilityClaims } from '../../src/capabilities/peekCapabilityClaims';
import { createRedisCapabilityStore } from '../../src/capabilities/redisCapabilityStore';
import { createSqliteCapabilityStore } from '../../src/capabilities/sqliteCapabilityStore';
import { generateReceiptKey } from '../../src/core/receipt/signer';
import { redisForTests } from '../support/redisForTests';
import { capabilitySetup } from './support';

const dir = mkdtempSync(join(tmpdir(), 'x402-caps-shared-'));
const closers: Array<() => void> = [];
afterAll(() => {
  for (const close of closers) close();
  rmSync(dir, { recursive: true, force: true });
});
const harness = await redisForTests('capabilities shared between instances (Redis)');

const backends: Array<[string, () => [CapabilityStore, CapabilityStore]]> = [
  [
    'SQLite file, one connection per instance',
    () => {
      const path = join(dir, `shared-${closers.length}.sqlite`);
      const a = createSqliteCapabilityStore({ path });
      const b = createSqliteCapabilityStore({ path });
      closers.push(
        () => a.close(),
        () => b.close(),
      );
      return [a, b];
    },
  ],
];
if (harness) {
  let prefixes = 0;
  backends.push([
    'Redis, one client per instance',
    () => {
      const keyPrefix = `shared${prefixes++}:`;
      return [
        createRedisCapabilityStore({ redis: harness.connect(), keyPrefix }),
        createRedisCapabilityStore({ redis: harness.connect(), keyPrefix }),
      ];
    },
  ]);
}

for (const [name, open] of backends) {
  describe(`capabilities across two instances: ${name}`, () => {
    async function twoInstances() {
      // One key, but each instance its own format object (and verified-token cache), as in two processes.
      const privateJwk = await generateReceiptKey();
      const [storeA, storeB] = open();
      return [
        await capabilitySetup({ token: await jwsCapabilityToken({ privateJwk }), store: storeA }),
        await capabilitySetup({ token: await jwsCapabilityToken({ privateJwk }), store: storeB }),
      ] as const;
    }

    it('bought on one instance, used on the other; 50 parallel calls over both serve exactly 10', async () => {
      const [a, b] = await twoInstances();
      const token = await a.buy();
      expect((await b.present('/api/1', token)).headers.get('X402-Capability-Remaining')).toBe('9');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).present(`/api/${i}`, token)),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(9);
      expect(
        results.filter((r) => r.status === 402 && r.headers.get('X402-Capability-Error') === 'capability_exhausted'),
      ).toHaveLength(41);
      expect(a.state.handlerCalls + b.state.handlerCalls).toBe(1 + 10);
    });

    it('revoked on one instance, refused on both', async () => {
      const [a, b] = await twoInstances();
      const token = await a.buy();
      await b.caps.revoke(peekCapabilityClaims(token)?.jti ?? '');
      for (const instance of [a, b])
        expect((await instance.present('/api/1', token)).headers.get('X402-Capability-Error')).toBe(
          'capability_revoked',
        );
    });
  });
}
