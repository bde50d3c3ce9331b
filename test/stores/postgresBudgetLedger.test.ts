import { createPostgresBudgetLedger } from '../../src/stores/postgresBudgetLedger';
import { postgresForTests, type PostgresFixture } from '../support/postgresForTests';
import { describeBudgetLedgerContract, type SharedLedgers } from './budgetLedgerContract';

const pgs = await postgresForTests('Postgres budget ledger');

/** Each call gets freshly migrated tables; ledgers alternate between the fixture's two handles. */
const ledgers =
  (fresh: () => Promise<PostgresFixture>): SharedLedgers =>
  async (budgets, n) => {
    const { source, peer, tablePrefix } = await fresh();
    return Array.from({ length: n }, (_, i) =>
      createPostgresBudgetLedger({ ...(i % 2 ? peer : source), tablePrefix, budgets }),
    );
  };

if (pgs.server) describeBudgetLedgerContract('postgres (server, two pools)', ledgers(pgs.server.fresh));
describeBudgetLedgerContract('postgres (embedded PGlite, one connection)', ledgers(pgs.pglite.fresh));
