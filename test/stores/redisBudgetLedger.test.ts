import { createRedisBudgetLedger } from '../../src/stores/redisBudgetLedger';
import { redisClusterForTests } from '../support/redisCluster';
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

const cluster = await redisClusterForTests('Redis Cluster budget ledger');
if (cluster) {
  let tags = 0;
  describeBudgetLedgerContract('redis cluster (3 primaries, separate Cluster clients)', (budgets, n) => {
    const keyPrefix = `{budget${tags++}}:`;
    return Array.from({ length: n }, () => createRedisBudgetLedger({ redis: cluster.connect(), budgets, keyPrefix }));
  });
}
