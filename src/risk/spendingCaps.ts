import { ConfigurationError } from '../core/errors';
import type { PaymentRefusal } from '../server/extensions';
import { createMemoryCapCounter, type CapCounter, type CapLimit } from './capCounter';
import { normalizePayer } from './payerScreening';

/** A cap on amounts of one asset (atomic units), optionally on one network only. */
export type AmountCap = { asset: string; network?: string; max: bigint };

/** Server-side spending caps, checked on every verified payment before service. */
export type SpendingCapsOptions = {
  /** Largest single payment. */
  perTransaction?: readonly AmountCap[];
  /** Most one payer may pay per UTC day. */
  perPayerDaily?: readonly AmountCap[];
  /** Most all payers together may pay per UTC day. */
  globalDaily?: readonly AmountCap[];
};

/** What a cap check needs to know of a payment. */
export type CappedPayment = {
  paymentId: string;
  payer: string;
  network: string;
  asset: string;
  amount: bigint;
  now: number;
};

/**
 * Checks payments against per-transaction, per-payer daily and global daily caps, and reserves their amounts
 * atomically in a {@link CapCounter} (memory by default: one process's view; SQLite to share the totals between
 * processes on one machine). A reservation is committed when the payment settles (or is pending) and released
 * when it fails.
 */
export type SpendingCaps = {
  /** Reserves the payment, or answers why it is over a cap (nothing reserved then). */
  reserve(payment: CappedPayment): Promise<PaymentRefusal | undefined>;
  /** Keeps a reservation (the money moved or may have). */
  commit(paymentId: string): Promise<void>;
  /** Gives a reservation back (nothing moved). */
  release(paymentId: string): Promise<void>;
  /** Today's committed + reserved total of a payer (or of everyone when `payer` is omitted). */
  spentToday(asset: string, network: string, now: number, payer?: string): Promise<bigint>;
};

const DAY_MS = 86_400_000;

/**
 * Creates the caps of {@link riskControls}.
 *
 * @example const caps = spendingCaps({ perPayerDaily: [{ asset: usdc, max: 50_000_000n }] }, createSqliteCapCounter({ path }));
 */
export function spendingCaps(
  options: SpendingCapsOptions,
  counter: CapCounter = createMemoryCapCounter(),
): SpendingCaps {
  for (const cap of [
    ...(options.perTransaction ?? []),
    ...(options.perPayerDaily ?? []),
    ...(options.globalDaily ?? []),
  ]) {
    if (cap.max < 0n) throw new ConfigurationError(`A cap on ${cap.asset} must not be negative.`);
  }
  const find = (caps: readonly AmountCap[] | undefined, p: { asset: string; network: string }) =>
    caps?.find(
      (c) => c.asset.toLowerCase() === p.asset.toLowerCase() && (c.network === undefined || c.network === p.network),
    );
  const key = (day: number, p: { asset: string; network: string }, payer?: string) =>
    `${day}|${p.network}|${p.asset.toLowerCase()}|${payer ?? '*'}`;

  return {
    async reserve(p) {
      const one = find(options.perTransaction, p);
      if (one && p.amount > one.max)
        return {
          reason: 'over_transaction_cap',
          message: `A single payment here may be at most ${one.max} of ${p.asset}.`,
        };
      const day = Math.floor(p.now / DAY_MS);
      const perPayer = find(options.perPayerDaily, p);
      const global = find(options.globalDaily, p);
      const payerKey = key(day, p, normalizePayer(p.payer));
      const limits: CapLimit[] = [
        ...(perPayer ? [{ key: payerKey, max: perPayer.max }] : []),
        ...(global ? [{ key: key(day, p), max: global.max }] : []),
      ];
      if (limits.length === 0) return undefined;
      const reserved = await counter.tryReserve(p.paymentId, limits, p.amount);
      if (reserved.ok) return undefined;
      const payerCap = reserved.limit.key === payerKey;
      return {
        reason: payerCap ? 'over_payer_daily_cap' : 'over_global_daily_cap',
        message: `This payment would pass today's cap of ${reserved.limit.max} of ${p.asset} for this ${payerCap ? 'payer' : 'server'}. Try again tomorrow (UTC).`,
      };
    },
    commit: (paymentId) => counter.commit(paymentId),
    release: (paymentId) => counter.release(paymentId),
    spentToday: (asset, network, now, payer) =>
      counter.total(
        key(Math.floor(now / DAY_MS), { asset, network }, payer === undefined ? undefined : normalizePayer(payer)),
      ),
  };
}
