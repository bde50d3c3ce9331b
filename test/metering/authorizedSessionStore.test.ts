/**
 * An authorized session's permit and its in-progress settlement (with the transaction recorded at broadcast)
 * survive in the SQLite store across handles (a restarted process): what a crash-aware close needs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { MeterSession } from '../../src/metering/meterSession';
import { createSqliteMeteringStore } from '../../src/metering/sqliteMeteringStore';

const dir = mkdtempSync(join(tmpdir(), 'x402-authorized-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('keeps the authorization and the in-progress settlement reference across store handles', async () => {
  const path = join(dir, 'metering.sqlite');
  const authorization = JSON.stringify({
    signature: '0xabc',
    permit: { owner: '0x1', spender: '0x2', value: '100', nonce: '0', deadline: '9' },
  });
  const session: MeterSession = {
    id: '31337:0xtoken:permit:0xowner:0',
    route: 'POST /llm',
    issuer: 'http://meter.test',
    rail: 'evm-eip2612',
    scheme: 'exact',
    network: 'eip155:31337',
    asset: '0xtoken',
    payer: '0xowner',
    payee: '0xpayee',
    depositReceipt: '31337:0xtoken:permit:0xowner:0',
    depositReference: '31337:0xtoken:permit:0xowner:0',
    requirementsHash: 'hash',
    challenge: '',
    token: 'token',
    authorized: 100n,
    used: 40n,
    reserved: 0n,
    seq: 2,
    expiresAt: Date.now() + 60_000,
    closed: false,
    authorization,
  };
  const first = createSqliteMeteringStore({ path });
  await first.open(session);
  await first.close(session.id);
  expect((await first.setRefund(session.id, [undefined], { status: 'in_progress', amount: 40n })).applied).toBe(true);
  expect((await first.setRefund(session.id, [undefined], { status: 'in_progress', amount: 40n })).applied).toBe(false); // one close claims it
  await first.setRefund(session.id, ['in_progress'], { status: 'in_progress', amount: 40n, reference: '0xfeed' });
  const restarted = createSqliteMeteringStore({ path });
  expect(await restarted.get(session.id)).toMatchObject({
    authorization,
    closed: true,
    refund: { status: 'in_progress', amount: 40n, reference: '0xfeed' },
  });
});
