import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/core/errors';
import { createBudgetLedger, type Budget, type SpendRequest } from '../../src/client/budgetLedger';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = 1_700_000_000_000;
const A = 'https://a.example.com';
const B = 'https://b.example.com';
const spend = (
  amount: bigint,
  now: number,
  origin = A,
  asset = 'msat',
  network = 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328',
): SpendRequest => ({
  origin,
  network,
  asset,
  amount,
  now,
});

function exceeded(fn: () => unknown): BudgetExceededError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BudgetExceededError) return error;
    throw error;
  }
  throw new Error('expected BudgetExceededError');
}

describe('budget ledger', () => {
  it('holds up to the limit exactly and names the budget when refusing', () => {
    const ledger = createBudgetLedger([{ asset: 'msat', limit: 100n, window: 'total' }]);
    ledger.reserve(spend(60n, T0)).commit();
    ledger.reserve(spend(40n, T0));
    const error = exceeded(() => ledger.reserve(spend(1n, T0)));
    expect(error.code).toBe('CLIENT__BUDGET__EXCEEDED');
    expect(error.details).toEqual({ budget: 'total:msat', limit: '100', spent: '100', requested: '1', asset: 'msat' });
    expect(ledger.used({ asset: 'msat', limit: 100n, window: 'total' }, A, T0)).toBe(100n);
  });

  it('release frees the hold; commit keeps it; each settles only once', () => {
    const budget: Budget = { asset: 'msat', limit: '100', window: 'day' };
    const ledger = createBudgetLedger([budget]);
    const held = ledger.reserve(spend(70n, T0));
    expect(() => ledger.reserve(spend(31n, T0))).toThrow(BudgetExceededError);
    held.release();
    expect(ledger.used(budget, A, T0)).toBe(0n);
    const again = ledger.reserve(spend(70n, T0));
    again.commit();
    again.release(); // after commit, release is a no-op: the money was spent
    expect(ledger.used(budget, A, T0)).toBe(70n);
    expect(() => ledger.reserve(spend(31n, T0))).toThrow(BudgetExceededError);
    const small = ledger.reserve(spend(30n, T0));
    small.release();
    small.release();
    expect(ledger.used(budget, A, T0)).toBe(70n);
  });

  it('only counts the budget asset, by id or network/asset', () => {
    const ledger = createBudgetLedger([{ asset: 'eip155:84532/0xUSDC', limit: 10n, window: 'total' }]);
    ledger.reserve(spend(1_000n, T0)); // msat: unbudgeted
    ledger.reserve(spend(1_000n, T0, A, '0xusdc', 'eip155:8453')); // same token id, other network
    ledger.reserve(spend(10n, T0, A, '0xusdc', 'eip155:84532'));
    expect(() => ledger.reserve(spend(1n, T0, A, '0xUSDC', 'eip155:84532'))).toThrow(BudgetExceededError);
  });

  it('hourly window rolls: an hour after a spend, it no longer counts', () => {
    const budget: Budget = { asset: 'msat', limit: 100n, window: 'hour' };
    const ledger = createBudgetLedger([budget]);
    ledger.reserve(spend(100n, T0)).commit();
    expect(() => ledger.reserve(spend(1n, T0 + HOUR - 1))).toThrow(BudgetExceededError);
    expect(ledger.used(budget, A, T0 + HOUR - 1)).toBe(100n);
    expect(ledger.used(budget, A, T0 + HOUR)).toBe(0n);
    ledger.reserve(spend(100n, T0 + HOUR)).commit();
    expect(() => ledger.reserve(spend(1n, T0 + HOUR + 1))).toThrow(BudgetExceededError);
  });

  it('rolls continuously, not per calendar hour', () => {
    const ledger = createBudgetLedger([{ asset: 'msat', limit: 100n, window: 'hour' }]);
    ledger.reserve(spend(50n, T0)).commit();
    ledger.reserve(spend(50n, T0 + 30 * 60_000)).commit();
    // at T0+60min the first has rolled out, the second has not
    expect(() => ledger.reserve(spend(51n, T0 + HOUR))).toThrow(BudgetExceededError);
    ledger.reserve(spend(50n, T0 + HOUR)).commit();
  });

  it('daily and total windows', () => {
    const ledger = createBudgetLedger([
      { asset: 'msat', limit: 100n, window: 'day' },
      { asset: 'msat', limit: 250n, window: 'total' },
    ]);
    ledger.reserve(spend(100n, T0)).commit();
    expect(exceeded(() => ledger.reserve(spend(1n, T0 + DAY - 1))).details.budget).toBe('day:msat');
    ledger.reserve(spend(100n, T0 + DAY)).commit();
    ledger.reserve(spend(50n, T0 + 2 * DAY)).commit();
    // the day has room (50 of 100) but the total (250) does not
    expect(exceeded(() => ledger.reserve(spend(1n, T0 + 2 * DAY))).details.budget).toBe('total:msat');
    expect(exceeded(() => ledger.reserve(spend(1n, T0 + 400 * DAY))).details.budget).toBe('total:msat');
  });

  it('perOrigin counts each origin separately; without it origins share', () => {
    const shared = createBudgetLedger([{ asset: 'msat', limit: 100n, window: 'day' }]);
    shared.reserve(spend(100n, T0, A)).commit();
    expect(() => shared.reserve(spend(1n, T0, B))).toThrow(BudgetExceededError);

    const per = createBudgetLedger([{ asset: 'msat', limit: 100n, window: 'day', perOrigin: true }]);
    per.reserve(spend(100n, T0, A)).commit();
    per.reserve(spend(100n, T0, B)).commit();
    expect(() => per.reserve(spend(1n, T0, A))).toThrow(BudgetExceededError);
    expect(() => per.reserve(spend(1n, T0, B))).toThrow(BudgetExceededError);
    per.reserve(spend(100n, T0, 'https://c.example.com'));
  });

  it('an origin-scoped budget only counts that origin', () => {
    const ledger = createBudgetLedger([{ asset: 'msat', limit: 10n, window: 'total', origin: A }]);
    ledger.reserve(spend(10n, T0, A));
    expect(() => ledger.reserve(spend(1n, T0, A))).toThrow(BudgetExceededError);
    ledger.reserve(spend(1_000n, T0, B));
  });

  it('keeps counting correctly past the pruning threshold (many small spends)', () => {
    const budget: Budget = { asset: 'msat', limit: 2_000n, window: 'hour' };
    const ledger = createBudgetLedger([budget]);
    for (let i = 0; i < 2_000; i++) ledger.reserve(spend(1n, T0 + i)).commit();
    expect(() => ledger.reserve(spend(1n, T0 + 2_000))).toThrow(BudgetExceededError);
    expect(ledger.used(budget, A, T0 + 2_000)).toBe(2_000n);
    // an hour after the first spends, exactly those have rolled out
    expect(ledger.used(budget, A, T0 + HOUR + 500)).toBe(1_499n);
    ledger.reserve(spend(501n, T0 + HOUR + 500)).commit();
    expect(() => ledger.reserve(spend(1n, T0 + HOUR + 500))).toThrow(BudgetExceededError);
  });

  it('100 concurrent reservations never exceed the limit: exactly floor(limit/amount) succeed', async () => {
    const budget: Budget = { asset: 'msat', limit: 1_000n, window: 'hour' };
    const ledger = createBudgetLedger([budget]);
    const attempt = async (i: number) => {
      await new Promise((resolve) => setTimeout(resolve, i % 7));
      try {
        const r = ledger.reserve(spend(30n, T0 + (i % 5)));
        await Promise.resolve();
        r.commit();
        return true;
      } catch (error) {
        if (error instanceof BudgetExceededError) return false;
        throw error;
      }
    };
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(i)));
    expect(results.filter(Boolean)).toHaveLength(33);
    expect(ledger.used(budget, A, T0 + 10)).toBe(990n);
  });

  it('concurrent reservations with some releases: releases make room for later ones', async () => {
    const ledger = createBudgetLedger([{ asset: 'msat', limit: 100n, window: 'total' }]);
    const attempt = async (i: number) => {
      await Promise.resolve();
      try {
        const r = ledger.reserve(spend(10n, T0));
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i < 10) r.release();
        else r.commit();
        return true;
      } catch {
        return false;
      }
    };
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(i)));
    expect(first.filter(Boolean)).toHaveLength(10); // all 10 held at once, then the first 10 released
    const second = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(i + 10)));
    expect(second.filter(Boolean)).toHaveLength(10);
    expect(() => ledger.reserve(spend(1n, T0))).toThrow(BudgetExceededError);
  });
});
