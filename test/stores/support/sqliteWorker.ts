/**
 * A second process for the SQLite race tests, started with `fork(..., { execArgv: ['--import', 'tsx'] })`.
 * Opens its own connection, says `ready`, waits for `go`, runs its share of the race and reports:
 * - `claim <path> <paymentId> <n>`: n concurrent claims → `{ wins }`
 * - `reserve <path> <n> <limit>`: n reservations of 1 against a total budget → `{ reserved }`
 */
import { createSqliteBudgetLedger } from '../../../src/stores/sqliteBudgetLedger';
import { createSqlitePaymentStore } from '../../../src/stores/sqlitePaymentStore';
import { BudgetExceededError } from '../../../src/core/errors';

const [mode, path, a, b] = process.argv.slice(2);
const send = (message: unknown) => process.send?.(message);

async function main(): Promise<void> {
  if (!path) throw new Error('usage: sqliteWorker <claim|reserve> <path> …');
  if (mode === 'claim') {
    const store = createSqlitePaymentStore({ path });
    await waitForGo();
    const results = await Promise.all(
      Array.from({ length: Number(b) }, (_, i) => store.claim(a ?? '', `req-${process.pid}-${i}`, 60_000)),
    );
    send({ wins: results.filter((r) => r.claimed).length });
    store.close();
  } else if (mode === 'reserve') {
    const ledger = createSqliteBudgetLedger(path, [{ asset: 'msat', limit: BigInt(b ?? '0'), window: 'total' }]);
    await waitForGo();
    let reserved = 0;
    for (let i = 0; i < Number(a); i++) {
      try {
        const held = ledger.reserve({
          origin: 'https://a.example',
          network: 'bip122:regtest',
          asset: 'msat',
          amount: 1n,
          now: Date.now(),
        });
        if (i % 3 === 0) held.commit();
        reserved++;
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error;
      }
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    send({ reserved });
    ledger.close();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    process.once('message', () => resolve());
    send('ready');
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
