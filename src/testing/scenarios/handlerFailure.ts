import { check } from '../conformanceFailure';
import { FAIL_HEADER, PAID_PATH } from '../conformanceContext';
import { drain, expectMoved, expectUnmoved, expectStatus, settleResponseOf } from '../expectations';
import type { Scenario } from './types';

/**
 * The handler answers 500 for a paid request: nothing settles, no receipt, nothing moves (after the payment was
 * made, for pay-first rails). The same payment for the same request then settles once when the handler works.
 */
export const handlerFailure: Scenario = async (ctx) => {
  const body = ctx.nextBody('handler-failure');
  const offer = await ctx.challenge(PAID_PATH, body);
  const settledBefore = ctx.settled.length;
  const start = await ctx.balances();
  const payload = await ctx.pay(offer);
  const before = await ctx.balances();
  const failed = await ctx.send(PAID_PATH, body, offer, payload, { [FAIL_HEADER]: '1' });
  check(failed.status === 500, "The handler's own 500 must reach the client.", { status: failed.status });
  check(failed.headers.get('PAYMENT-RESPONSE') === null, 'A failed handler must not be answered with a receipt.');
  await drain(failed);
  expectUnmoved(before, await ctx.balances());
  check(ctx.settled.length === settledBefore, 'A failed handler must not settle the payment.');

  const retried = await ctx.send(PAID_PATH, body, offer, payload);
  await expectStatus(retried, 200, 'The unsettled payment must still pay for its request once the handler works.');
  settleResponseOf(retried);
  await drain(retried);
  check(ctx.settled.length === settledBefore + 1, 'The retry must settle exactly once.');
  expectMoved(start, await ctx.balances(), ctx.charged, ctx.charged);
  return {};
};
