import { payingFetch } from '../../client/payingFetch';
import { receiptOf } from '../../client/paymentOutcome';
import { check } from '../conformanceFailure';
import { checkReceipt } from '../checkReceipt';
import { PAID_PATH } from '../conformanceContext';
import { expectMoved, expectStatus } from '../expectations';
import type { Scenario } from './types';

/** Pays through payingFetch in-process; checks the answer, the receipt field by field, and the balances. */
export const happyPath: Scenario = async (ctx) => {
  const { setup } = ctx;
  const before = await ctx.balances();
  const settledBefore = ctx.settled.length;
  const body = ctx.nextBody('happy');
  const url = ctx.url(PAID_PATH);
  const pay = payingFetch(ctx.fetch, { adapters: [setup.client], wallets: [setup.wallet] });
  const res = await pay(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  await expectStatus(res, 200, 'The paid request must be served (200).');
  const echoed: unknown = await res.json();
  check(
    typeof echoed === 'object' && echoed !== null && (echoed as { body?: unknown }).body === body,
    'The handler must see the request body that was paid for.',
  );
  const outcome = receiptOf(res);
  check(outcome !== undefined, 'payingFetch must attach the payment outcome.');
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
  const first = payingFetch(ctx.fetch, { adapters: [setup.client], wallets: [setup.wallet] });
  const second = payingFetch(ctx.fetch, { adapters: [setup.client], wallets: [setup.secondWallet] });
  const answers = await Promise.all([first(url, { method: 'POST', body }), second(url, { method: 'POST', body })]);
  for (const res of answers) await expectStatus(res, 200, 'Both payers must be served (200).');
  const references = answers.map((res) => receiptOf(res)?.receipt?.reference);
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
