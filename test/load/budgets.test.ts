/**
 * Client budgets under load: 100 concurrent `payingFetch` calls against two real server processes (EVM
 * EIP-3009 on anvil) with a total budget worth N payments → exactly N are paid, the other calls are refused
 * by the client before any payment leaves it (`budget_exceeded`; the servers see exactly N payment headers),
 * and the on-chain spend equals the budget. Once with the in-memory ledger, once with two clients sharing
 * one SQLite ledger file through two connections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetLedger, type Budget, type BudgetLedger } from '../../src/client/budgetLedger';
import { payingFetch } from '../../src/client/payingFetch';
import { receiptOf } from '../../src/client/paymentOutcome';
import { NoAcceptableOfferError } from '../../src/core/errors';
import { createSqliteBudgetLedger } from '../../src/stores/sqliteBudgetLedger';
import { evmEip3009Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { LOAD_PRICE, balances, payerWallet, twoServerConfigs } from './support/loadFixture';
import { startServerProcesses, type ServerProcess } from './support/serverProcesses';

const CALLS = 100;
/** Payments the budget allows. */
const N = 7;

let evm: EvmDevnet;
let servers: ServerProcess[] = [];
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'x402-budget-load-'));
  evm = await startEvmDevnet();
  servers = await startServerProcesses(
    await twoServerConfigs(evm, { kind: 'sqlite', path: join(dir, 'store.sqlite') }),
  );
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await evm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The servers' payment headers so far, summed. */
async function paymentHeadersSeen(): Promise<number> {
  return (await Promise.all(servers.map((s) => s.stats()))).reduce((sum, s) => sum + s.paymentHeaders, 0);
}

/** 100 concurrent paid calls spread over both servers, each through the client of `ledgers[i % ledgers.length]`. */
async function spendStorm(ledgers: BudgetLedger[]): Promise<void> {
  const budget = ledgers[0]?.budgets[0];
  if (!budget) throw new Error('a budget');
  const clients = ledgers.map((ledger) =>
    payingFetch(fetch, { adapters: [evmEip3009Client()], wallets: [payerWallet(evm)], ledger }),
  );
  const before = await balances(evm);
  const headersBefore = await paymentHeadersSeen();

  const outcomes = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => {
      const client = clients[i % clients.length];
      const server = servers[i % servers.length];
      if (!client || !server) throw new Error('no client or server');
      return client(`${server.url}/paid`);
    }),
  );

  let paid = 0;
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') {
      expect(outcome.value.status).toBe(200);
      expect(receiptOf(outcome.value)?.receipt?.amount).toBe(LOAD_PRICE.toString());
      paid++;
    } else {
      // refused by the client, naming the budget: nothing was signed or sent
      expect(outcome.reason).toBeInstanceOf(NoAcceptableOfferError);
      const error = outcome.reason as NoAcceptableOfferError;
      expect(error.rejections.map((r) => r.reason)).toEqual(['budget_exceeded']);
    }
  }
  expect(paid).toBe(N);
  expect((await paymentHeadersSeen()) - headersBefore).toBe(N);
  const after = await balances(evm);
  expect(before.payer - after.payer).toBe(BigInt(budget.limit));
  expect(after.payee - before.payee).toBe(BigInt(budget.limit));
  for (const ledger of ledgers) expect(ledger.used(budget, servers[0]?.url ?? '')).toBe(BigInt(budget.limit));
}

const budgetsFor = (evmDevnet: EvmDevnet): Budget[] => [
  { asset: evmDevnet.token.address, limit: LOAD_PRICE * BigInt(N), window: 'total' },
];

describe(`${CALLS} concurrent paying clients with a budget for ${N} payments never overspend`, () => {
  it('memory ledger: exactly N paid, the rest refused before paying, on-chain spend == budget', async () => {
    await spendStorm([createBudgetLedger(budgetsFor(evm))]);
  }, 90_000);

  it('SQLite ledger shared by two clients (two connections to one file): the same', async () => {
    const path = join(dir, 'budgets.sqlite');
    const ledgers = [createSqliteBudgetLedger(path, budgetsFor(evm)), createSqliteBudgetLedger(path, budgetsFor(evm))];
    try {
      await spendStorm(ledgers);
    } finally {
      for (const ledger of ledgers) ledger.close();
    }
  }, 90_000);
});
