import type { RailPayload } from '../../core/rail';
import type { PaymentRequirements } from '../../protocol/schemas';
import type { SettleResponse } from '../../protocol/schemas';
import type { ConformanceContext } from '../conformanceContext';
import { drain, expectStatus, settleResponseOf } from '../expectations';

/** A payment made and presented by hand (not through payingFetch), and the paid answer. */
export type PaidByHand = {
  path: string;
  body: string;
  offer: PaymentRequirements;
  payload: RailPayload;
  res: Response;
  settle: SettleResponse;
};

/** Challenges `path`, pays the offer with the setup's wallet, presents it and expects a 200 with a receipt. */
export async function paidByHand(ctx: ConformanceContext, path: string, label: string): Promise<PaidByHand> {
  const body = ctx.nextBody(label);
  const offer = await ctx.challenge(path, body);
  const payload = await ctx.pay(offer);
  const res = await ctx.send(path, body, offer, payload);
  await expectStatus(res, 200, 'A valid payment must be served (200).');
  const settle = settleResponseOf(res);
  await drain(res);
  return { path, body, offer, payload, res, settle };
}
