import type { RailPayload } from '../../core/rail';
import type { PaymentRequirements } from '../../protocol/schemas';
import { check, ConformanceFailure } from '../conformanceFailure';
import { PAID_PATH, type ConformanceContext } from '../conformanceContext';
import { drain, expectRefused, expectUnmoved } from '../expectations';
import type { ConformanceScenarioId } from '../scenarios';
import type { BadPaymentHook } from '../setup';
import { tamperPayload } from '../tamperPayload';
import type { Scenario } from './types';

/**
 * Challenges the paid route, makes a bad payment for the real offer, presents it echoing the real offer, and
 * checks the refusal and that nothing moved. Balances are read before the payment is made, or — for rails that
 * pay while creating it — right after, so only the server's part is measured.
 */
async function refuses(
  ctx: ConformanceContext,
  scenario: ConformanceScenarioId,
  make: (offer: PaymentRequirements) => Promise<RailPayload>,
): Promise<{ reason: string }> {
  const body = ctx.nextBody(scenario);
  const offer = await ctx.challenge(PAID_PATH, body);
  const settledBefore = ctx.settled.length;
  let before = ctx.paysOnCreate ? undefined : await ctx.balances();
  const payload = await make(offer);
  before ??= await ctx.balances();
  const res = await ctx.send(PAID_PATH, body, offer, payload);
  if (res.status === 200) {
    await drain(res);
    throw new ConformanceFailure(
      `${scenario}: the rail served the bad payment. If its payload does not carry what the kit altered in the offer (so the payment is in fact good), give the scenario's hook a payment that is truly bad in this respect.`,
    );
  }
  const reason = await expectRefused(res, ctx.setup, scenario);
  expectUnmoved(before, await ctx.balances());
  check(ctx.settled.length === settledBefore, 'A refused payment must not settle.');
  return { reason };
}

/** A bad payment built by the client rail for an altered copy of the offer (or by the setup's hook). */
function altered(
  ctx: ConformanceContext,
  hook: BadPaymentHook | undefined,
  alter: ((offer: PaymentRequirements) => PaymentRequirements) | undefined,
  missing: string,
) {
  return (offer: PaymentRequirements): Promise<RailPayload> => {
    if (hook) return hook(offer, ctx.hookKit(PAID_PATH));
    if (!alter) throw new ConformanceFailure(missing);
    return ctx.pay(alter(offer));
  };
}

/** `eip155:31337` → `eip155:31338`; a non-numeric reference gets its last character changed. */
export function otherNetworkOf(network: string): `${string}:${string}` {
  const [namespace = '', reference = ''] = network.split(/:(.*)/s);
  if (/^[0-9]+$/.test(reference)) return `${namespace}:${(BigInt(reference) + 1n).toString()}`;
  const last = reference.slice(-1);
  return `${namespace}:${reference.slice(0, -1)}${last === 'a' ? 'b' : 'a'}`;
}

export const wrongAmount: Scenario = (ctx) => {
  const amount = ctx.setup.variants?.amount ?? (ctx.price > 1n ? ctx.price - 1n : 2n).toString();
  return refuses(
    ctx,
    'wrongAmount',
    altered(ctx, ctx.setup.hooks?.payWrongAmount, (o) => ({ ...o, amount }), ''),
  );
};

/** A payment for the offer with `field` set to the setup's variant (which has no default: another payee, another asset). */
function paysOtherVariant(
  ctx: ConformanceContext,
  scenario: 'wrongPayee' | 'wrongAsset',
  field: 'payTo' | 'asset',
  hook: BadPaymentHook | undefined,
): Promise<{ reason: string }> {
  const value = ctx.setup.variants?.[field];
  const alter = value === undefined ? undefined : (o: PaymentRequirements) => ({ ...o, [field]: value });
  const hookName = scenario === 'wrongPayee' ? 'payToOther' : 'payOtherAsset';
  return refuses(
    ctx,
    scenario,
    altered(
      ctx,
      hook,
      alter,
      `${scenario} needs variants.${field} (another ${field === 'payTo' ? 'payee' : 'asset'} of this rail), hooks.${hookName}, or skip.${scenario} with a reason.`,
    ),
  );
}

export const wrongPayee: Scenario = (ctx) => paysOtherVariant(ctx, 'wrongPayee', 'payTo', ctx.setup.hooks?.payToOther);

export const wrongNetwork: Scenario = (ctx) => {
  const network = ctx.setup.variants?.network;
  return refuses(
    ctx,
    'wrongNetwork',
    altered(
      ctx,
      ctx.setup.hooks?.payOnOtherNetwork,
      (o) => ({ ...o, network: network ?? otherNetworkOf(o.network) }),
      '',
    ),
  );
};

export const wrongAsset: Scenario = (ctx) =>
  paysOtherVariant(ctx, 'wrongAsset', 'asset', ctx.setup.hooks?.payOtherAsset);

export const expired: Scenario = (ctx) => {
  if (ctx.protocol === 'mpp') return expiredChallenge(ctx);
  const hook = ctx.setup.hooks?.payExpired;
  return refuses(ctx, 'expired', (offer) =>
    hook
      ? hook(offer, ctx.hookKit(PAID_PATH))
      : ctx.pay(offer, { now: Date.now() - (offer.maxTimeoutSeconds + 3600) * 1000 }),
  );
};

/**
 * MPP: what expires is the challenge (its `expires`, HMAC-bound, so no client can push it back). A credential made
 * in time is presented once the paywall's clock has passed the expiry by a minute.
 */
async function expiredChallenge(ctx: ConformanceContext): Promise<{ reason: string }> {
  const body = ctx.nextBody('expired');
  const offer = await ctx.challenge(PAID_PATH, body);
  const settledBefore = ctx.settled.length;
  let before = ctx.paysOnCreate ? undefined : await ctx.balances();
  const payload = await ctx.pay(offer);
  before ??= await ctx.balances();
  ctx.skewClock((offer.maxTimeoutSeconds + 60) * 1000);
  let res: Response;
  try {
    res = await ctx.send(PAID_PATH, body, offer, payload);
  } finally {
    ctx.skewClock(0);
  }
  const reason = await expectRefused(res, ctx.setup, 'expired');
  expectUnmoved(before, await ctx.balances());
  check(ctx.settled.length === settledBefore, 'A payment for an expired challenge must not settle.');
  return { reason };
}

export const tamperedPayload: Scenario = (ctx) => {
  const hook = ctx.setup.hooks?.tamper;
  return refuses(ctx, 'tamperedPayload', async (offer) => {
    const payload = await ctx.pay(offer);
    const tampered = hook ? await hook(payload, offer, ctx.hookKit(PAID_PATH)) : tamperPayload(payload);
    check(JSON.stringify(tampered) !== JSON.stringify(payload), 'The tampered payload must differ from the original.');
    return tampered;
  });
};

/** A header that is not base64 → 400 with a code; an empty rail payload and one of the wrong shape → 402/400 with a reason. */
export const malformedPayment: Scenario = async (ctx) => {
  const before = await ctx.balances();
  const settledBefore = ctx.settled.length;
  const reasons: string[] = [];
  const garbage = await ctx.fetch(ctx.url(PAID_PATH), {
    method: 'POST',
    body: ctx.nextBody('malformed'),
    headers: ctx.driver.garbage,
  });
  check(garbage.status === 400, `An unreadable ${ctx.protocol} credential must be answered 400.`, {
    status: garbage.status,
    headers: ctx.driver.garbage,
  });
  reasons.push(
    await expectRefused(garbage, { ...ctx.setup, expectReasons: {} }, 'malformedPayment', { allow400: true }),
  );
  for (const payload of [{}, { unexpected: [1, { deep: true }] }]) {
    const body = ctx.nextBody('malformed');
    const offer = await ctx.challenge(PAID_PATH, body);
    reasons.push(
      await expectRefused(await ctx.send(PAID_PATH, body, offer, payload), ctx.setup, 'malformedPayment', {
        allow400: true,
      }),
    );
  }
  expectUnmoved(before, await ctx.balances());
  check(ctx.settled.length === settledBefore, 'A malformed payment must not settle.');
  return { reason: reasons.join(', ') };
};
