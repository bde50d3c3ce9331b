import { createRedisBudgetLedger } from '../../src/stores/redisBudgetLedger';
import { redisForTests } from '../support/redisForTests';
import { describeBudgetLedgerContract } from './budgetLedgerContract';

const redis = await redisForTests('Redis budget ledger');
if (redis) {
  let prefixes = 0;
  describeBudgetLedgerContract('redis (separate clients)', (budgets, n) => {
    const keyPrefix = `b${prefixes++}:`;
    return Array.from({ length: n }, () => createRedisBudgetLedger({ redis: redis.connect(), budgets, keyPrefix }));
  });
}
