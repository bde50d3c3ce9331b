import { describe, expect, it } from 'vitest';
import { createBudgetLedger, type Budget, type BudgetLedger, type SpendRequest } from '../../src/client/budgetLedger';
import { BudgetExceededError } from '../../src/core/errors';

const A = 'https://a.example.com';
const B = 'https://b.example.com';
const LN = 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328';
const T0 = 1_700_000_000_000;
const spend = (amount: bigint, now: number, origin = A, asset = 'msat', network = LN): SpendRequest => ({
  origin,
  network,
  asset,
  amount,
  now,
});

async function outcome(ledger: BudgetLedger, request: SpendRequest): Promise<'held' | BudgetExceededError> {
  try {
    await ledger.reserve(request);
    return 'held';
  } catch (error) {
    if (error instanceof BudgetExceededError) return error;
    throw error;
  }
}

/** Makes `n` ledgers with these budgets over one fresh shared state (other connections / clients to it). */
export type SharedLedgers = (budgets: Budget[], n: number) => BudgetLedger[] | Promise<BudgetLedger[]>;

/**
 * The contract every shared {@link BudgetLedger} passes (Redis, Postgres on a server and embedded): holds up to the
 * limit exactly, agrees with the memory ledger on windows, per-origin budgets and asset matching, never overspends
 * under 100 racing reservations over several connections, counts beyond 2^53.
 *
 * @example describeBudgetLedgerContract('redis', (budgets, n) => Array.from({ length: n }, () => createRedisBudgetLedger({ redis, budgets, keyPrefix })))
 */
export function describeBudgetLedgerContract(name: string, shared: SharedLedgers): void {
  const ledgerOn = async (budgets: Budget[]) => (await shared(budgets, 1))[0] as BudgetLedger;
  describe(`budget ledger contract: ${name}`, () => {
    it('holds up to the limit exactly, names the budget when refusing, and a release gives the hold back', async () => {
      const ledger = await ledgerOn([{ asset: 'msat', limit: 100n, window: 'total' }]);
      const first = await ledger.reserve(spend(60n, T0));
      expect(await outcome(ledger, spend(40n, T0))).toBe('held');
      const refused = await outcome(ledger, spend(1n, T0));
      expect(refused).toBeInstanceOf(BudgetExceededError);
      expect(refused instanceof BudgetExceededError && refused.details).toMatchObject({
        budget: 'total:msat',
        limit: '100',
        spent: '100',
        requested: '1',
      });
      await first.release();
      expect(await ledger.used({ asset: 'msat', limit: 100n, window: 'total' }, A, T0)).toBe(40n);
      expect(await outcome(ledger, spend(60n, T0))).toBe('held');
      await first.release(); // twice is a no-op
      expect(await outcome(ledger, spend(1n, T0))).toBeInstanceOf(BudgetExceededError);
    });

    it('agrees with the memory ledger on rolling windows, per-origin budgets and asset matching', async () => {
      const budgets: Budget[] = [
        { asset: 'msat', limit: 100n, window: 'hour' },
        { asset: `${LN}/msat`, limit: 250n, window: 'day', perOrigin: true },
        { asset: '0xtoken', limit: 10n, window: 'total', origin: B },
      ];
      const memory = createBudgetLedger(budgets);
      const sharedLedger = await ledgerOn(budgets);
      const steps: SpendRequest[] = [
        spend(80n, T0),
        spend(30n, T0 + 1_000), // passes the hour
        spend(30n, T0 + 3_600_001), // an hour later the first hold no longer counts
        spend(90n, T0 + 3_600_002, B),
        spend(100n, T0 + 7_300_000),
        spend(100n, T0 + 11_000_000), // passes A's day budget (80 + 30 + 100 + 100 > 250)
        spend(11n, T0, B, '0xtoken', 'eip155:1'),
        spend(10n, T0, B, '0xtoken', 'eip155:1'),
        spend(10n, T0, A, '0xtoken', 'eip155:1'), // the token budget counts only origin B
      ];
      for (const step of steps) {
        const expected = await outcome(memory, step);
        const got = await outcome(sharedLedger, step);
        expect(
          got === 'held' ? 'held' : 'refused',
          JSON.stringify(step, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
        ).toBe(expected === 'held' ? 'held' : 'refused');
      }
    });

    it('clients on separate connections racing 100 reservations never overspend', async () => {
      const budgets: Budget[] = [{ asset: 'msat', limit: 7_000n, window: 'day' }];
      const ledgers = await shared(budgets, 4);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => outcome(ledgers[i % 4] as BudgetLedger, spend(1_000n, T0 + i))),
      );
      expect(results.filter((r) => r === 'held')).toHaveLength(7);
      expect(await ledgers[0]?.used(budgets[0] as Budget, A, T0 + 100)).toBe(7_000n);
    });

    it('counts amounts beyond 2^53 exactly', async () => {
      const big = 2n ** 70n;
      const ledger = await ledgerOn([{ asset: 'wei', limit: big + 1n, window: 'total' }]);
      expect(await outcome(ledger, spend(big, T0, A, 'wei', 'eip155:1'))).toBe('held');
      expect(await outcome(ledger, spend(1n, T0, A, 'wei', 'eip155:1'))).toBe('held');
      expect(await outcome(ledger, spend(1n, T0, A, 'wei', 'eip155:1'))).toBeInstanceOf(BudgetExceededError);
    });
  });
}
