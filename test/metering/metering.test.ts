/**
 * Metered usage on the fake rail (real fake-money ledger): deposit → session, incremental receipts that verify
 * with the server's JWKS, the metered total never above the deposit (30 concurrent calls racing at the end of
 * the balance, memory and SQLite stores), close → final receipt + refund of exactly the unused amount, once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { RECEIPT_JWKS_PATH, createReceiptSigner, verifyReceipt, type SignedReceipt } from '../../src/core/receipt';
import { meteredFetch } from '../../src/client/meteredFetch';
import { decodeMeteringReceipt } from '../../src/metering/meteringReceipt';
import type { MeteringRefunder } from '../../src/metering/meteringRefunder';
import { createSqliteMeteringStore } from '../../src/metering/sqliteMeteringStore';
import { createMemoryAuditLog } from '../../src/risk/memoryAuditLog';
import { DEPOSIT, ORIGIN, depositReceiptOf, meteringSetup } from './support';

const dir = mkdtempSync(join(tmpdir(), 'x402-metering-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const receiptIn = (res: Response): SignedReceipt => {
  const receipt = decodeMeteringReceipt(res.headers.get('X402-Metering-Receipt'));
  if (!receipt) throw new Error(`no metering receipt (status ${res.status})`);
  return receipt;
};

async function deposit(s: Awaited<ReturnType<typeof meteringSetup>>, units = '10') {
  const res = await s.pay(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': units } });
  expect(res.status).toBe(200);
  const session = res.headers.get('X402-Metering-Session');
  if (session === null) throw new Error('no session');
  return { res, session, depositReceipt: depositReceiptOf(res) };
}

describe('metered usage (fake rail)', () => {
  it('the deposit opens a session; each call answers a signed incremental receipt linked to the deposit', async () => {
    const s = await meteringSetup();
    const { res, session, depositReceipt } = await deposit(s, '10');
    expect(res.headers.get('X402-Usage')).toBeNull();
    expect(s.ledger.balanceOf('merchant')).toBe(DEPOSIT);
    const first = await verifyReceipt(receiptIn(res), s.pw.jwks());
    expect(first.metering).toEqual({
      session: depositReceipt?.id,
      deposit: depositReceipt?.id,
      seq: 1,
      authorized: '1000',
      charged: '20',
      used: '20',
      remaining: '980',
    });
    expect(first.reference).toBe(depositReceipt?.reference);

    const totals: Array<[string, string, string]> = [];
    for (const units of ['5', '50', '0']) {
      const call = await s.call(session, units);
      expect(call.status).toBe(200);
      expect(call.headers.get('X402-Usage')).toBeNull();
      expect(call.headers.get('PAYMENT-RESPONSE')).toBeNull();
      const r = await verifyReceipt(receiptIn(call), s.pw.jwks(), {
        request: { method: 'POST', url: `${ORIGIN}/llm` },
      });
      expect(r.metering?.deposit).toBe(depositReceipt?.id);
      expect(r.amount).toBe(r.metering?.charged);
      totals.push([r.metering?.charged ?? '', r.metering?.used ?? '', r.metering?.remaining ?? '']);
    }
    expect(totals).toEqual([
      ['10', '30', '970'],
      ['100', '130', '870'],
      ['0', '130', '870'],
    ]);
    // No money moved for the metered calls; a tampered receipt does not verify.
    expect(s.ledger.balanceOf('merchant')).toBe(DEPOSIT);
    const forged = { ...receiptIn(await s.call(session, '1')), metering: { ...first.metering, used: '0' } };
    await expect(verifyReceipt(forged, s.pw.jwks())).rejects.toMatchObject({ code: 'RECEIPT__INVALID' });
  });

  it('charges at most the reservation: an over-report is capped, a missing report is charged in full, a failed call nothing', async () => {
    const s = await meteringSetup();
    const { session } = await deposit(s, '0');
    expect(receiptIn(await s.call(session, '5000')).metering?.charged).toBe('200');
    expect(receiptIn(await s.call(session, undefined)).metering?.charged).toBe('200');
    expect(receiptIn(await s.call(session, 'lots')).metering?.charged).toBe('200');
    const failed = await s.call(session, '10', { 'x-status': '500' });
    expect(failed.status).toBe(500);
    expect(receiptIn(failed).metering).toMatchObject({ charged: '0', used: '600' });
  });

  for (const storeKind of ['memory', 'sqlite'] as const) {
    it(`30 concurrent calls racing at the end of the balance never pass the deposit (${storeKind} store)`, async () => {
      const store = storeKind === 'sqlite' ? createSqliteMeteringStore({ path: join(dir, 'race.sqlite') }) : undefined;
      const s = await meteringSetup(store ? { store } : {});
      const { session } = await deposit(s, '75'); // 150 used, 850 left: four more calls of 200 reserved fit
      const answers = await Promise.all(Array.from({ length: 30 }, () => s.call(session, '75')));
      const served = answers.filter((r) => r.status === 200);
      const refused = answers.filter((r) => r.status === 402);
      expect(served).toHaveLength(4);
      expect(refused).toHaveLength(26);
      for (const r of refused) {
        expect(r.headers.get('X402-Metering-Error')).toBe('metering_exhausted');
        expect(r.headers.get('PAYMENT-REQUIRED')).not.toBeNull();
      }
      const receipts = served.map(receiptIn);
      expect(receipts.map((r) => r.metering?.seq).sort()).toEqual([2, 3, 4, 5]);
      expect(receipts.map((r) => r.metering?.used).sort()).toEqual(['300', '450', '600', '750']);
      const closed = await s.call(session, undefined, { 'X402-Metering-Close': '1' });
      const final = await verifyReceipt(receiptIn(closed), s.pw.jwks());
      expect(final.metering).toMatchObject({
        final: true,
        used: '750',
        remaining: '250',
        refund: { amount: '250', status: 'sent' },
      });
      expect(s.ledger.balanceOf('merchant')).toBe(750n);
      store?.closeDatabase();
    });
  }

  it('close refunds exactly the unused amount once; closing again answers the same final receipt', async () => {
    const s = await meteringSetup();
    const { session } = await deposit(s, '30');
    await s.call(session, '20');
    const before = s.ledger.balanceOf('alice');
    const [first, second] = await Promise.all([
      s.call(session, undefined, { 'X402-Metering-Close': '1' }),
      s.call(session, undefined, { 'X402-Metering-Close': '1' }),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const body = (await first.json()) as {
      refund: { amount: string; status: string; reference: string };
      receipt: SignedReceipt;
    };
    expect(body.refund).toEqual({ amount: '900', status: 'sent', reference: 'refund-1' });
    expect(((await second.json()) as { receipt: SignedReceipt }).receipt).toEqual(body.receipt);
    expect(await verifyReceipt(body.receipt, s.pw.jwks())).toMatchObject({
      amount: '100',
      metering: { final: true, charged: '0', used: '100', seq: 3 },
    });
    const third = await s.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(((await third.json()) as { receipt: SignedReceipt }).receipt).toEqual(body.receipt);
    expect(s.refunds).toEqual([{ to: 'alice', amount: 900n }]);
    expect(s.ledger.balanceOf('alice')).toBe(before + 900n);
    expect(s.ledger.balanceOf('merchant')).toBe(100n);
    const after = await s.call(session, '1');
    expect(after.status).toBe(402);
    expect(after.headers.get('X402-Metering-Error')).toBe('metering_closed');
  });

  it('a rail that needs the client to say where the refund goes: awaiting_destination, a wrong invoice refused, then paid once', async () => {
    const s = await meteringSetup({ needsDestination: true });
    const { session } = await deposit(s, '100');
    const asked = await s.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(((await asked.json()) as { refund: unknown }).refund).toEqual({
      amount: '800',
      status: 'awaiting_destination',
    });
    const wrong = await s.call(session, undefined, {
      'X402-Metering-Close': '1',
      'X402-Metering-Refund-To': 'invoice:1',
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { code: string }).code).toBe('METERING__SESSION__MALFORMED');
    const paid = await s.call(session, undefined, {
      'X402-Metering-Close': '1',
      'X402-Metering-Refund-To': 'invoice:800',
    });
    expect(((await paid.json()) as { refund: unknown }).refund).toEqual({
      amount: '800',
      status: 'sent',
      reference: 'refund-1',
    });
    await s.call(session, undefined, { 'X402-Metering-Close': '1', 'X402-Metering-Refund-To': 'invoice:800' });
    expect(s.refunds).toHaveLength(1);
  });

  it('refuses forged, altered, malformed and out-of-scope sessions', async () => {
    const s = await meteringSetup();
    const { session } = await deposit(s);
    const parts = session.split('.');
    const altered = `${parts[0]}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString()), amountCap: '999999' })).toString('base64url')}.${parts[2]}`;
    const forged = await s.call(altered, '1');
    expect(forged.status).toBe(402);
    expect(forged.headers.get('X402-Metering-Error')).toBe('metering_invalid');
    const garbage = await s.call('not-a-token', '1');
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { code: string }).code).toBe('METERING__SESSION__MALFORMED');
    const other = await s.call(session, '1', {}, '/embed');
    expect(other.status).toBe(402);
    expect(other.headers.get('X402-Metering-Error')).toBe('metering_wrong_scope');
  });

  it('the client keeps the session, pays a new deposit when it runs out, and closes both for their refunds', async () => {
    const s = await meteringSetup();
    const client = s.client();
    const call = (units: string) =>
      client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': units }, body: 'prompt' });
    for (let i = 0; i < 5; i++) expect((await call('90')).status).toBe(200); // 5 × 180 = 900 of the first deposit
    expect(s.ledger.balanceOf('merchant')).toBe(DEPOSIT);
    const res = await call('90'); // 100 left < 200 reserved: a second deposit is paid by the paying fetch
    expect(res.status).toBe(200);
    expect(s.ledger.balanceOf('merchant')).toBe(2n * DEPOSIT);
    const held = client.sessions(ORIGIN);
    expect(held.map((h) => h.receiptError)).toEqual([undefined, undefined]);
    expect(held.map((h) => [h.retired, h.lastReceipt?.metering?.used])).toEqual([
      [true, '900'],
      [false, '180'],
    ]);
    const closed = await client.close(ORIGIN);
    expect(closed.map((c) => c.refund)).toEqual([
      { amount: '100', status: 'sent', reference: 'refund-1' },
      { amount: '820', status: 'sent', reference: 'refund-2' },
    ]);
    expect(s.ledger.balanceOf('merchant')).toBe(900n + 180n);
    expect(client.sessions(ORIGIN)).toEqual([]);
  });

  it('two instances on one SQLite file share sessions: 30 calls split between them still never pass the deposit', async () => {
    const path = join(dir, 'shared.sqlite');
    const token = await jwsCapabilityToken();
    const a = await meteringSetup({ store: createSqliteMeteringStore({ path }), token });
    const b = await meteringSetup({
      store: createSqliteMeteringStore({ path }),
      ledger: a.ledger,
      signer: a.signer,
      token,
    });
    const { session } = await deposit(a, '75');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).call(session, '75')));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(4);
    const closed = await b.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(((await closed.json()) as { refund: unknown }).refund).toEqual({
      amount: '250',
      status: 'sent',
      reference: 'refund-1',
    });
    expect(a.refunds).toEqual([]);
    expect(b.refunds).toEqual([{ to: 'alice', amount: 250n }]);
  });

  it('a close waits for the calls in flight and charges them before refunding', async () => {
    const s = await meteringSetup();
    const { session } = await deposit(s, '0');
    const slow = s.call(session, '50', { 'x-delay-ms': '150' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = s.call(session, undefined, { 'X402-Metering-Close': '1' });
    const [served, closed] = await Promise.all([slow, closing]);
    expect(served.status).toBe(200);
    expect(receiptIn(served).metering).toMatchObject({ charged: '100', used: '100' });
    expect(((await closed.json()) as { refund: unknown }).refund).toEqual({
      amount: '900',
      status: 'sent',
      reference: 'refund-1',
    });
  });

  it('a close that cannot wait out the calls in flight answers 503 and refunds nothing until a later close', async () => {
    const s = await meteringSetup({ closeWaitMs: 30 });
    const { session } = await deposit(s, '0');
    const slow = s.call(session, '50', { 'x-delay-ms': '200' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const early = await s.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(early.status).toBe(503);
    expect(((await early.json()) as { code: string }).code).toBe('METERING__CLOSE__PENDING');
    expect(s.refunds).toEqual([]);
    await slow;
    const later = await s.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(((await later.json()) as { refund: unknown }).refund).toEqual({
      amount: '900',
      status: 'sent',
      reference: 'refund-1',
    });
  });

  it('an expired session is refused with a fresh challenge and can still be closed for its refund', async () => {
    const s = await meteringSetup({
      routes: { 'POST /llm': { maxUnitsPerCall: 100n, unitPrice: 2n, ttlSeconds: 60 } },
    });
    const { session } = await deposit(s, '10');
    s.clock.offsetMs = 61_000;
    const expired = await s.call(session, '1');
    expect(expired.status).toBe(402);
    expect(expired.headers.get('X402-Metering-Error')).toBe('metering_expired');
    expect(expired.headers.get('PAYMENT-REQUIRED')).not.toBeNull();
    const closed = await s.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(((await closed.json()) as { refund: unknown }).refund).toEqual({
      amount: '980',
      status: 'sent',
      reference: 'refund-1',
    });
  });

  it('with the SQLite store a session survives a restart: the restarted server meters and refunds it', async () => {
    const path = join(dir, 'restart.sqlite');
    const token = await jwsCapabilityToken();
    const first = createSqliteMeteringStore({ path });
    const before = await meteringSetup({ store: first, token });
    const { session } = await deposit(before, '100');
    first.closeDatabase();
    const after = await meteringSetup({
      store: createSqliteMeteringStore({ path }),
      ledger: before.ledger,
      signer: before.signer,
      token,
    });
    expect(receiptIn(await after.call(session, '50')).metering).toMatchObject({
      seq: 2,
      used: '300',
      remaining: '700',
    });
    const closed = await after.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(((await closed.json()) as { refund: unknown }).refund).toEqual({
      amount: '700',
      status: 'sent',
      reference: 'refund-1',
    });
  });

  it('the client takes no receipt that fails its issuer JWKS, and refuses a close whose final receipt does not verify', async () => {
    const s = await meteringSetup();
    const other = await createReceiptSigner();
    const wrongJwks: typeof s.fetch = async (input, init) =>
      new URL(new Request(input, init).url).pathname === RECEIPT_JWKS_PATH
        ? Response.json(other.jwks())
        : s.fetch(input, init);
    const client = meteredFetch({ pay: s.pay, fetch: wrongJwks });
    expect((await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '1' } })).status).toBe(200);
    const [held] = client.sessions(ORIGIN);
    expect(held?.lastReceipt).toBeUndefined();
    expect(held?.receiptError).toMatchObject({ code: 'RECEIPT__INVALID' });
    await expect(client.close(ORIGIN)).rejects.toMatchObject({ code: 'RECEIPT__INVALID' });
  });

  it('a refund of unknown outcome stays in progress (503, never re-sent, audited) until the operator resolves it', async () => {
    const audit = createMemoryAuditLog();
    const errors: string[] = [];
    let attempts = 0;
    const flaky: MeteringRefunder = {
      async refund() {
        attempts++;
        if (attempts === 1) throw new Error('the RPC answer was lost');
        return { status: 'sent', reference: `tx-${attempts}` };
      },
    };
    const s = await meteringSetup({
      refunds: { 'fake-exact': flaky },
      audit,
      closeWaitMs: 50,
      onError: (_e, during) => errors.push(during),
    });
    const { session, depositReceipt } = await deposit(s, '100');
    const close = () => s.call(session, undefined, { 'X402-Metering-Close': '1' });
    const first = await close();
    expect(first.status).toBe(503);
    expect(((await first.json()) as { code: string }).code).toBe('METERING__CLOSE__PENDING');
    expect((await close()).status).toBe(503);
    expect(attempts).toBe(1);
    expect(errors).toEqual(['refund']);
    expect(await s.meter.resolveRefund(depositReceipt?.id ?? '', { notSent: true })).toBeUndefined();
    const third = await close();
    expect(((await third.json()) as { refund: unknown }).refund).toEqual({
      amount: '800',
      status: 'sent',
      reference: 'tx-2',
    });
    expect(attempts).toBe(2);
    const entries = await audit.list({ kind: 'refund' });
    expect(entries.map((e) => [e.outcome, e.amount, e.paymentId])).toEqual([
      ['unknown', '800', depositReceipt?.id],
      ['sent', '800', depositReceipt?.id],
    ]);
    expect(entries[1]?.evidence).toMatchObject({
      session: depositReceipt?.id,
      reference: 'tx-2',
      receipt: { metering: { final: true } },
    });
  });

  it('the operator records by hand a refund it found sent: final receipt, and no second transfer', async () => {
    const s = await meteringSetup({
      refunds: { 'fake-exact': { refund: async () => Promise.reject(new Error('lost')) } },
      closeWaitMs: 50,
    });
    const { session, depositReceipt } = await deposit(s, '0');
    expect((await s.call(session, undefined, { 'X402-Metering-Close': '1' })).status).toBe(503);
    const resolved = await s.meter.resolveRefund(depositReceipt?.id ?? '', { sent: '0xfound' });
    expect(resolved?.refund).toEqual({ amount: '1000', status: 'sent', reference: '0xfound' });
    const again = await s.call(session, undefined, { 'X402-Metering-Close': '1' });
    expect(((await again.json()) as { receipt: unknown }).receipt).toEqual(resolved?.receipt);
  });
});
