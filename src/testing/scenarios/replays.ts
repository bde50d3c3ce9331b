import { check } from '../conformanceFailure';
import { OTHER_PATH, PAID_PATH } from '../conformanceContext';
import { drain, expectMoved, expectRefused, expectUnmoved, expectStatus, settleResponseOf } from '../expectations';
import { paidByHand } from './paidByHand';
import type { Scenario } from './types';

/**
 * A settled payment presented again: for the identical request it is idempotent (200, the same receipt) — or, in
 * a protocol whose credentials are consumed once (MPP Lightning charge), refused; for another request (another
 * body, under the old offer and under a fresh one) it is refused — or, on a rail whose credentials are reusable by
 * design (L402), served with the original receipt. Never a second settlement.
 */
export const replayed: Scenario = async (ctx) => {
  const paid = await paidByHand(ctx, PAID_PATH, 'replayed');
  const before = await ctx.balances();
  const settledBefore = ctx.settled.length;
  const receiptHeader = paid.res.headers.get('PAYMENT-RESPONSE');

  const retry = await ctx.send(PAID_PATH, paid.body, paid.offer, paid.payload);
  const reasons: string[] = [];
  if (ctx.driver.consumeOnce()) {
    reasons.push(await expectRefused(retry, ctx.setup, 'replayed'));
  } else {
    await expectStatus(retry, 200, 'A retry of the identical paid request must be served again (idempotent).');
    check(
      retry.headers.get('PAYMENT-RESPONSE') === receiptHeader,
      'A retry of the identical paid request must get the same receipt.',
    );
    await drain(retry);
  }

  const otherBody = ctx.nextBody('replayed-elsewhere');
  const freshOffer = await ctx.challenge(PAID_PATH, otherBody);
  let note: string | undefined;
  for (const accepted of [paid.offer, freshOffer]) {
    const res = await ctx.send(PAID_PATH, otherBody, accepted, paid.payload);
    if (ctx.driver.reusable() && res.status === 200) {
      check(
        settleResponseOf(res).transaction === paid.settle.transaction,
        'A reused credential must be served with its original settlement.',
      );
      await drain(res);
      note = 'reusable rail: reuse on its route is served with the original receipt, no second charge';
      reasons.push('reused');
    } else reasons.push(await expectRefused(res, ctx.setup, 'replayed'));
  }
  expectUnmoved(before, await ctx.balances());
  check(ctx.settled.length === settledBefore, 'A replayed payment must not settle again.');
  return { reason: reasons.join(', '), ...(note ? { note } : {}) };
};

/** A payment settled on one route, replayed on the other: echoing its own offer, and under the other route's fresh offer. */
export const crossRouteReplay: Scenario = async (ctx) => {
  const paid = await paidByHand(ctx, PAID_PATH, 'cross-route');
  const before = await ctx.balances();
  const settledBefore = ctx.settled.length;
  const reasons: string[] = [];
  const body = ctx.nextBody('cross-route-other');
  reasons.push(
    await expectRefused(await ctx.send(OTHER_PATH, body, paid.offer, paid.payload), ctx.setup, 'crossRouteReplay'),
  );
  const otherOffer = await ctx.challenge(OTHER_PATH, body);
  reasons.push(
    await expectRefused(await ctx.send(OTHER_PATH, body, otherOffer, paid.payload), ctx.setup, 'crossRouteReplay'),
  );
  expectUnmoved(before, await ctx.balances());
  check(ctx.settled.length === settledBefore, 'A cross-route replay must not settle.');
  return { reason: reasons.join(', ') };
};

const CONCURRENT = 6;

/**
 * One payment submitted {@link CONCURRENT} times at once, half for one request and half for another: exactly one
 * settlement, every 200 carries that settlement, the rest are refused with a reason, the price moves once.
 */
export const concurrentDoubleSubmit: Scenario = async (ctx) => {
  const body = ctx.nextBody('concurrent');
  const otherBody = ctx.nextBody('concurrent-other');
  const offer = await ctx.challenge(PAID_PATH, body);
  const before = await ctx.balances();
  const settledBefore = ctx.settled.length;
  const payload = await ctx.pay(offer);
  const answers = await Promise.all(
    Array.from({ length: CONCURRENT }, (_, i) => ctx.send(PAID_PATH, i % 2 === 0 ? body : otherBody, offer, payload)),
  );
  const references = new Set<string>();
  const reasons = new Set<string>();
  for (const res of answers) {
    if (res.status === 200) {
      references.add(settleResponseOf(res).transaction);
      await drain(res);
    } else reasons.add(await expectRefused(res, ctx.setup, 'concurrentDoubleSubmit'));
  }
  check(references.size === 1, 'Concurrent submits of one payment must all carry the one settlement.', {
    references: [...references],
    statuses: answers.map((r) => r.status),
  });
  check(ctx.settled.length === settledBefore + 1, 'One payment must settle exactly once.', {
    settlements: ctx.settled.length - settledBefore,
  });
  expectMoved(before, await ctx.balances(), ctx.charged, ctx.charged);
  return { reason: [...reasons].join(', ') || 'all served with the one receipt' };
};
