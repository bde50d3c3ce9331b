import { check } from '../conformanceFailure';
import { checkReceipt } from '../checkReceipt';
import { PAID_PATH } from '../conformanceContext';
import { expectMoved, expectStatus } from '../expectations';
import type { Scenario } from './types';

/** Pays as the protocol's client does (payingFetch for x402 and MPP, by hand for L402) in-process; checks the answer, the receipt field by field, and the balances. */
export const happyPath: Scenario = async (ctx) => {
  const { setup } = ctx;
  const before = await ctx.balances();
  const settledBefore = ctx.settled.length;
  const body = ctx.nextBody('happy');
  const url = ctx.url(PAID_PATH);
  const { res, outcome } = await ctx.driver.payRequest(ctx.fetch, setup.wallet, url, body);
  await expectStatus(res, 200, 'The paid request must be served (200).');
  const echoed: unknown = await res.json();
  check(
    typeof echoed === 'object' && echoed !== null && (echoed as { body?: unknown }).body === body,
    'The handler must see the request body that was paid for.',
  );
  check(outcome !== undefined, 'The paying client must learn the payment outcome.');
  check(outcome.rail === setup.client.id, 'The outcome must name the client rail that paid.', { rail: outcome.rail });
  await checkReceipt(ctx, outcome, { method: 'POST', url, bodyHash: ctx.bodyHash(body) });
  expectMoved(before, await ctx.balances(), ctx.charged, ctx.charged);
  check(ctx.settled.length === settledBefore + 1, 'Exactly one settlement must happen.', {
    settlements: ctx.settled.length - settledBefore,
  });
  return {};
};

/** Two payers pay the same request at once: both are served, with two settlements and two references. */
export const distinctPayments: Scenario = async (ctx) => {
  const { setup } = ctx;
  const before = await ctx.balances();
  const settledBefore = ctx.settled.length;
  const body = ctx.nextBody('distinct');
  const url = ctx.url(PAID_PATH);
  const paid = await Promise.all(
    [setup.wallet, setup.secondWallet].map((wallet) => ctx.driver.payRequest(ctx.fetch, wallet, url, body)),
  );
  for (const { res } of paid) await expectStatus(res, 200, 'Both payers must be served (200).');
  const references = paid.map(({ outcome }) => outcome?.receipt?.reference);
  check(
    references[0] !== undefined && references[1] !== undefined && references[0] !== references[1],
    'Two payments must settle with two references.',
    { references },
  );
  expectMoved(before, await ctx.balances(), ctx.charged, 2n * ctx.charged);
  check(ctx.settled.length === settledBefore + 2, 'Each payment must settle once.', {
    settlements: ctx.settled.length - settledBefore,
  });
  return {};
};
