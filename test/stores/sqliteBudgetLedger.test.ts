import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createBudgetLedger,
  type Budget,
  type LocalBudgetLedger,
  type LocalReservation,
  type SpendRequest,
} from '../../src/client/budgetLedger';
import { BudgetExceededError } from '../../src/core/errors';
import { createSqliteBudgetLedger } from '../../src/stores/sqliteBudgetLedger';
import { raceInProcesses } from './support/forkWorkers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = 1_700_000_000_000;
const A = 'https://a.example.com';
const B = 'https://b.example.com';
const LN = 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328';
const spend = (amount: bigint, now: number, origin = A, asset = 'msat', network = LN): SpendRequest => ({
  origin,
  network,
  asset,
  amount,
  now,
});

const dir = mkdtempSync(join(tmpdir(), 'x402-sqlite-budget-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `budget-${files++}.sqlite`);

function tryReserve(ledger: LocalBudgetLedger, request: SpendRequest): LocalReservation | BudgetExceededError {
  try {
    return ledger.reserve(request);
  } catch (error) {
    if (error instanceof BudgetExceededError) return error;
    throw error;
  }
}

describe('SQLite budget ledger', () => {
  it('holds up to the limit exactly and names the budget when refusing', () => {
    const ledger = createSqliteBudgetLedger(freshPath(), [{ asset: 'msat', limit: 100n, window: 'total' }]);
    ledger.reserve(spend(60n, T0)).commit();
    ledger.reserve(spend(40n, T0));
    const refused = tryReserve(ledger, spend(1n, T0));
    expect(refused).toBeInstanceOf(BudgetExceededError);
    if (refused instanceof BudgetExceededError) {
      expect(refused.details).toEqual({
        budget: 'total:msat',
        limit: '100',
        spent: '100',
        requested: '1',
        asset: 'msat',
      });
    }
    expect(ledger.used({ asset: 'msat', limit: 100n, window: 'total' }, A, T0)).toBe(100n);
    ledger.close();
  });

  it('release frees the hold; commit keeps it; each settles only once', () => {
    const budget: Budget = { asset: 'msat', limit: '100', window: 'day' };
    const ledger = createSqliteBudgetLedger(freshPath(), [budget]);
    const held = ledger.reserve(spend(70n, T0));
    expect(() => ledger.reserve(spend(31n, T0))).toThrow(BudgetExceededError);
    held.release();
    expect(ledger.used(budget, A, T0)).toBe(0n);
    const again = ledger.reserve(spend(70n, T0));
    again.commit();
    again.release(); // after commit, release is a no-op: the money was spent
    expect(ledger.used(budget, A, T0)).toBe(70n);
    const small = ledger.reserve(spend(30n, T0));
    small.release();
    small.release();
    expect(ledger.used(budget, A, T0)).toBe(70n);
    ledger.close();
  });

  it('rolling windows: an hour budget frees up an hour later, a day budget a day later', () => {
    const hour: Budget = { asset: 'msat', limit: 100n, window: 'hour' };
    const day: Budget = { asset: 'msat', limit: 250n, window: 'day' };
    const ledger = createSqliteBudgetLedger(freshPath(), [hour, day]);
    ledger.reserve(spend(100n, T0)).commit();
    expect(() => ledger.reserve(spend(1n, T0 + HOUR - 1))).toThrow(BudgetExceededError);
    ledger.reserve(spend(100n, T0 + HOUR)).commit();
    expect(ledger.used(hour, A, T0 + HOUR)).toBe(100n);
    expect(ledger.used(day, A, T0 + HOUR)).toBe(200n);
    ledger.reserve(spend(50n, T0 + 2 * HOUR)).commit();
    const refused = tryReserve(ledger, spend(1n, T0 + 3 * HOUR));
    expect(refused instanceof BudgetExceededError && refused.details.budget).toBe('day:msat');
    ledger.reserve(spend(100n, T0 + DAY + 1)).commit();
    ledger.close();
  });

  it('per-origin and origin-only budgets, assets by id or network/asset', () => {
    const perOrigin: Budget = { asset: `${LN}/msat`, limit: 10n, window: 'total', perOrigin: true };
    const onlyB: Budget = { asset: 'MSAT', limit: 15n, window: 'total', origin: B };
    const ledger = createSqliteBudgetLedger(freshPath(), [perOrigin, onlyB]);
    ledger.reserve(spend(10n, T0, A));
    expect(() => ledger.reserve(spend(1n, T0, A))).toThrow(BudgetExceededError);
    ledger.reserve(spend(10n, T0, B));
    const refused = tryReserve(ledger, spend(1n, T0, B));
    expect(refused).toBeInstanceOf(BudgetExceededError);
    ledger.reserve(spend(1_000n, T0, A, 'msat', 'bip122:other')); // other network: unbudgeted by perOrigin…
    expect(ledger.used(perOrigin, A, T0)).toBe(10n);
    expect(ledger.used(onlyB, A, T0)).toBe(10n); // …and onlyB counts only B
    ledger.close();
  });

  it('survives reopening the file: committed spend and open holds still count', () => {
    const path = freshPath();
    const budgets: Budget[] = [{ asset: 'msat', limit: 100n, window: 'day' }];
    const first = createSqliteBudgetLedger(path, budgets);
    first.reserve(spend(60n, T0)).commit();
    first.reserve(spend(30n, T0)); // a hold whose process then stops: kept, never forgotten
    first.close();
    const second = createSqliteBudgetLedger(path, budgets);
    expect(second.used(budgets[0]!, A, T0 + 1)).toBe(90n);
    expect(() => second.reserve(spend(11n, T0 + 1))).toThrow(BudgetExceededError);
    second.reserve(spend(10n, T0 + 1));
    second.close();
  });

  it('100 concurrent reservations across two connections never exceed the limit', async () => {
    const path = freshPath();
    const budgets: Budget[] = [{ asset: 'msat', limit: 1_000n, window: 'hour' }];
    const ledgers = [createSqliteBudgetLedger(path, budgets), createSqliteBudgetLedger(path, budgets)];
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i % 7));
        const held = tryReserve(ledgers[i % 2]!, spend(BigInt(17 + (i % 13)), Date.now()));
        if (held instanceof BudgetExceededError) return 0n;
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i % 10 === 0) {
          held.release();
          return 0n;
        }
        held.commit();
        return held.amount;
      }),
    );
    const spent = outcomes.reduce((a, b) => a + b, 0n);
    expect(spent).toBeLessThanOrEqual(1_000n);
    expect(spent).toBeGreaterThan(900n);
    expect(ledgers[0]!.used(budgets[0]!, A)).toBe(spent);
    expect(ledgers[1]!.used(budgets[0]!, A)).toBe(spent);
    for (const l of ledgers) l.close();
  });

  it('two processes × 100 reservations against one file never overspend', async () => {
    const path = freshPath();
    createSqliteBudgetLedger(path, []).close(); // schema first
    const reports = await raceInProcesses<{ reserved: number }>(2, ['reserve', path, '100', '150']);
    expect(reports.reduce((sum, r) => sum + r.reserved, 0)).toBe(150);
    const ledger = createSqliteBudgetLedger(path, []);
    expect(ledger.used({ asset: 'msat', limit: 150n, window: 'total' }, A)).toBe(150n);
    ledger.close();
  });

  it('agrees with the in-memory ledger on any sequence of reserve / commit / release', () => {
    const budgets: Budget[] = [
      { asset: 'msat', limit: 500n, window: 'hour' },
      { asset: `${LN}/msat`, limit: 900n, window: 'day', perOrigin: true },
      { asset: 'msat', limit: 300n, window: 'total', origin: B },
    ];
    const op = fc.record({
      amount: fc.bigInt({ min: 0n, max: 200n }),
      origin: fc.constantFrom(A, B),
      asset: fc.constantFrom('msat', 'MSAT', 'sat'),
      advance: fc.integer({ min: 0, max: 2 * HOUR }),
      then: fc.constantFrom('commit', 'release', 'hold'),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const memory = createBudgetLedger(budgets);
        const sqlite = createSqliteBudgetLedger(':memory:', budgets);
        let now = T0;
        for (const o of ops) {
          now += o.advance;
          const request = spend(o.amount, now, o.origin, o.asset);
          const m = tryReserve(memory, request);
          const s = tryReserve(sqlite, request);
          expect(s instanceof BudgetExceededError ? s.details : 'held').toEqual(
            m instanceof BudgetExceededError ? m.details : 'held',
          );
          if (!(m instanceof BudgetExceededError) && !(s instanceof BudgetExceededError) && o.then !== 'hold') {
            m[o.then]();
            s[o.then]();
          }
          for (const b of budgets)
            for (const origin of [A, B]) expect(sqlite.used(b, origin, now)).toBe(memory.used(b, origin, now));
        }
        sqlite.close();
      }),
      { numRuns: 150 },
    );
  });
});

describe('SQLite budget ledger: a locked file', () => {
  it('is a StoreUnavailableError, never mistaken for an exhausted budget', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { StoreUnavailableError } = await import('../../src/stores/storeErrors');
    const path = freshPath();
    const ledger = createSqliteBudgetLedger(path, [{ asset: 'msat', limit: 100n, window: 'total' }]);
    ledger.database.pragma('busy_timeout = 50');
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    expect(() => ledger.reserve(spend(1n, T0))).toThrow(StoreUnavailableError);
    other.exec('ROLLBACK');
    ledger.reserve(spend(1n, T0)).commit();
    other.close();
    ledger.close();
  });
});
