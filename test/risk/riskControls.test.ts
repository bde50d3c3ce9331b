/**
 * Risk controls on the paywall, with the fake in-memory rail (the ledger shows whether money moved): payer
 * screening and lists, caps, the circuit breaker, and the audit trail of it all.
 */
import { describe, expect, it } from 'vitest';
import {
  createReceiptSigner,
  paywall,
  payingFetch,
  receiptOf,
  RailUnavailableError,
  type SettleResult,
} from '../../src/index';
import { createMemoryAuditLog, riskControls, verifyAuditChain, type RiskControlsOptions } from '../../src/risk/index';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteCapCounter } from '../../src/risk/index';
import { FAKE_ASSET, FAKE_NETWORK, createFakeLedger, fakeRail, type FakeLedger } from '../unit/support/fakeRail';

const PRICE = 1_000n;
const ORIGIN = 'https://shop.test';

async function setup(
  options: RiskControlsOptions = {},
  faults: { settle?: () => SettleResult | undefined } = {},
  shared?: FakeLedger,
) {
  const ledger = shared ?? createFakeLedger();
  const calls = { quote: 0, verify: 0, settle: 0 };
  const rail = fakeRail({
    ledger,
    payTo: 'merchant',
    calls,
    ...(faults.settle ? { beforeSettle: faults.settle } : {}),
  });
  const alice = shared
    ? { kind: 'fake' as const, address: 'alice', key: ledger.keys.get('alice') ?? Buffer.alloc(32) }
    : ledger.open('alice', 1_000_000n);
  const mallory = shared
    ? { kind: 'fake' as const, address: 'mallory', key: ledger.keys.get('mallory') ?? Buffer.alloc(32) }
    : ledger.open('mallory', 1_000_000n);
  const audit = createMemoryAuditLog();
  const risk = riskControls({ audit, ...options });
  let served = 0;
  const pw = paywall(
    { 'GET /paid': { accepts: [{ rail: 'fake-exact', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner(), extensions: [risk] },
  );
  const handler = pw.wrap(() => {
    served++;
    return new Response('the goods');
  });
  const fetchImpl = async (input: Request | string | URL, init?: RequestInit) => handler(new Request(input, init));
  const client = (wallet = alice) => payingFetch(fetchImpl, { adapters: [rail], wallets: [wallet], resend: false });
  return { ledger, calls, risk, audit, client, alice, mallory, served: () => served };
}

/** The reason of a 402 (from PAYMENT-REQUIRED's `error`) or of a JSON error body. */
async function reasonOf(response: Response): Promise<string | undefined> {
  const header = response.headers.get('PAYMENT-REQUIRED');
  if (header) return (JSON.parse(Buffer.from(header, 'base64').toString()) as { error?: string }).error;
  return ((await response.json()) as { details?: { reason?: string } }).details?.reason;
}

describe('risk controls: payers', () => {
  it('a denied payer is refused before any service or settlement; others pay', async () => {
    const s = await setup({ denyPayers: ['mallory'] });
    const refused = await s.client(s.mallory)(`${ORIGIN}/paid`);
    expect(refused.status).toBe(402);
    expect(await reasonOf(refused)).toBe('payer_denied');
    expect(s.calls.settle).toBe(0);
    expect(s.served()).toBe(0);
    expect(s.ledger.balanceOf('mallory')).toBe(1_000_000n);
    const paid = await s.client()(`${ORIGIN}/paid`);
    expect(paid.status).toBe(200);
    expect(s.ledger.balanceOf('merchant')).toBe(PRICE);
  });

  it('an allow list admits only its payers; the screening hook refuses (402) or, when it fails, defers (503) — fail closed', async () => {
    const allow = await setup({ allowPayers: ['alice'] });
    expect(await reasonOf(await allow.client(allow.mallory)(`${ORIGIN}/paid`))).toBe('payer_denied');
    expect((await allow.client()(`${ORIGIN}/paid`)).status).toBe(200);

    let screening: 'ok' | 'deny' | 'down' = 'deny';
    const screened = await setup({
      screen: async ({ payer }) => {
        if (screening === 'down') throw new Error('sanctions API timeout');
        return screening === 'deny' && payer === 'alice'
          ? { allowed: false, reason: 'sanctions list' }
          : { allowed: true };
      },
    });
    const denied = await screened.client()(`${ORIGIN}/paid`);
    expect(denied.status).toBe(402);
    expect(await reasonOf(denied)).toBe('payer_denied');
    screening = 'down';
    const down = await screened.client()(`${ORIGIN}/paid`);
    expect(down.status).toBe(503);
    expect(down.headers.get('Retry-After')).not.toBeNull();
    expect(((await down.json()) as { code: string }).code).toBe('RISK__SCREENING__UNAVAILABLE');
    expect(screened.calls.settle).toBe(0);
    expect(screened.served()).toBe(0);
    screening = 'ok';
    expect((await screened.client()(`${ORIGIN}/paid`)).status).toBe(200);
  });
});

describe('risk controls: caps', () => {
  it('per transaction, per payer per day and global per day, never passed even by concurrent payments', async () => {
    const tx = await setup({ caps: { perTransaction: [{ asset: FAKE_ASSET, max: PRICE - 1n }] } });
    expect(await reasonOf(await tx.client()(`${ORIGIN}/paid`))).toBe('over_transaction_cap');

    const s = await setup({
      caps: {
        perPayerDaily: [{ asset: FAKE_ASSET, max: PRICE * 3n }],
        globalDaily: [{ asset: FAKE_ASSET, network: FAKE_NETWORK, max: PRICE * 5n }],
      },
    });
    const answers = await Promise.all(Array.from({ length: 10 }, () => s.client()(`${ORIGIN}/paid`)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(3);
    const reasons = await Promise.all(answers.filter((r) => r.status !== 200).map(reasonOf));
    expect(new Set(reasons)).toEqual(new Set(['over_payer_daily_cap']));
    expect(s.ledger.balanceOf('alice')).toBe(1_000_000n - PRICE * 3n);
    expect(await s.risk.spentToday(FAKE_ASSET, FAKE_NETWORK, 'alice')).toBe(PRICE * 3n);
    // mallory fills the global cap: 2 more, then refused
    const more = await Promise.all(Array.from({ length: 4 }, () => s.client(s.mallory)(`${ORIGIN}/paid`)));
    expect(more.filter((r) => r.status === 200)).toHaveLength(2);
    expect(await reasonOf(more.find((r) => r.status !== 200) ?? new Response())).toBe('over_global_daily_cap');
    expect(s.ledger.balanceOf('merchant')).toBe(PRICE * 5n);
  });

  it('a failed settlement gives its reservation back', async () => {
    let fail = true;
    const s = await setup(
      { caps: { perPayerDaily: [{ asset: FAKE_ASSET, max: PRICE }] }, breaker: false },
      { settle: () => (fail ? { status: 'failed', reason: 'insufficient_funds', message: 'no' } : undefined) },
    );
    expect((await s.client()(`${ORIGIN}/paid`)).status).toBe(402);
    expect(await s.risk.spentToday(FAKE_ASSET, FAKE_NETWORK, 'alice')).toBe(0n);
    fail = false;
    expect((await s.client()(`${ORIGIN}/paid`)).status).toBe(200);
    expect(await s.risk.spentToday(FAKE_ASSET, FAKE_NETWORK, 'alice')).toBe(PRICE);
  });
});

describe('risk controls: caps shared through SQLite', () => {
  it('two paywalls on one cap file never pass the caps together, even racing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-caps-'));
    try {
      const ledger = createFakeLedger();
      ledger.open('alice', 1_000_000n);
      const path = join(dir, 'caps.sqlite');
      const caps = { perPayerDaily: [{ asset: FAKE_ASSET, max: PRICE * 5n }] };
      const counters = [createSqliteCapCounter({ path }), createSqliteCapCounter({ path })];
      const [a, b] = await Promise.all(counters.map((capCounter) => setup({ caps, capCounter }, {}, ledger)));
      if (!a || !b) throw new Error('two paywalls');
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).client()(`${ORIGIN}/paid`)),
      );
      expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
      expect(ledger.balanceOf('alice')).toBe(1_000_000n - PRICE * 5n);
      expect(await b.risk.spentToday(FAKE_ASSET, FAKE_NETWORK, 'alice')).toBe(PRICE * 5n);
      for (const c of counters) c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('risk controls: circuit breaker', () => {
  it('opens after N infrastructure failures (503 breaker_open, nothing settled), lets one trial through after the cooldown, closes on its success', async () => {
    let clock = 1_700_000_000_000;
    let down = true;
    const changes: string[] = [];
    const s = await setup(
      {
        now: () => clock,
        breaker: { failureThreshold: 3, cooldownMs: 10_000, onChange: (b) => changes.push(`${b.rail}:${b.state}`) },
      },
      {
        settle: () => {
          if (down) throw new RailUnavailableError('node down', { rail: 'fake-exact' });
          return undefined;
        },
      },
    );
    for (let i = 0; i < 3; i++) expect((await s.client()(`${ORIGIN}/paid`)).status).toBe(503);
    expect(s.calls.settle).toBe(3);
    expect(s.risk.breakers()).toMatchObject([{ rail: 'fake-exact', state: 'open', consecutiveFailures: 3 }]);
    const refused = await s.client()(`${ORIGIN}/paid`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('RISK__BREAKER__OPEN');
    expect(s.calls.settle).toBe(3);
    expect(s.served()).toBe(3); // the handler ran for the three that reached settlement, never for the refused one

    down = false;
    clock += 10_001;
    const trial = await s.client()(`${ORIGIN}/paid`);
    expect(trial.status).toBe(200);
    expect(receiptOf(trial)?.receipt?.status).toBe('settled');
    expect(s.risk.breakers()).toMatchObject([{ state: 'closed', consecutiveFailures: 0 }]);
    expect(changes).toEqual(['fake-exact:open', 'fake-exact:closed']);
    expect(s.ledger.balanceOf('merchant')).toBe(PRICE);
  });

  it('a failing trial opens it again for another cooldown', async () => {
    let clock = 1_700_000_000_000;
    const s = await setup(
      { now: () => clock, breaker: { failureThreshold: 1, cooldownMs: 1_000 } },
      {
        settle: () => {
          throw new RailUnavailableError('node down', { rail: 'fake-exact' });
        },
      },
    );
    expect((await s.client()(`${ORIGIN}/paid`)).status).toBe(503);
    clock += 1_001;
    expect((await s.client()(`${ORIGIN}/paid`)).status).toBe(503); // the trial fails
    expect(s.calls.settle).toBe(2);
    expect(s.risk.breakers()).toMatchObject([{ state: 'open', retryAt: clock + 1_000 }]);
    expect((await s.client()(`${ORIGIN}/paid`)).status).toBe(503);
    expect(s.calls.settle).toBe(2);
  });
});

describe('risk controls: audit trail', () => {
  it('records challenge, payment, refusal and settlement with evidence, in one verifiable hash chain', async () => {
    const s = await setup({ denyPayers: ['mallory'] });
    const paid = await s.client()(`${ORIGIN}/paid`);
    await s.client(s.mallory)(`${ORIGIN}/paid`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const entries = await s.audit.list();
    expect(entries.map((e) => e.kind)).toEqual([
      'challenge',
      'payment',
      'settlement',
      'challenge',
      'refused',
      'rejected',
    ]);
    const settlement = entries.find((e) => e.kind === 'settlement');
    const receipt = receiptOf(paid)?.signedReceipt;
    expect(settlement).toMatchObject({
      outcome: 'settled',
      payer: 'alice',
      amount: PRICE.toString(),
      evidence: { receipt },
    });
    expect(settlement?.requestHash).toBe(entries.find((e) => e.kind === 'payment')?.requestHash);
    expect(entries.find((e) => e.kind === 'refused')).toMatchObject({ payer: 'mallory', reason: 'payer_denied' });
    expect(verifyAuditChain(entries)).toEqual({ ok: true, entries: entries.length });

    const altered = entries.map((e) => (e.kind === 'settlement' ? { ...e, amount: '1' } : e));
    expect(verifyAuditChain(altered)).toMatchObject({ ok: false, problem: 'its content does not match its hash' });
    expect(verifyAuditChain(entries.filter((e) => e.seq !== 3))).toMatchObject({
      ok: false,
      problem: 'entry 3 is missing',
    });
  });
});
