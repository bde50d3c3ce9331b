import { ConfigurationError } from '../core/errors';
import type { PaymentRefusal } from '../server/extensions';
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
export type CappedPayment = { paymentId: string; payer: string; network: string; asset: string; amount: bigint; now: number };

/**
 * Counts per-payer and global daily totals and reserves a payment's amount against them atomically (one
 * synchronous check-and-add, so concurrent payments in this process cannot pass a cap together). A reservation
 * is committed when the payment settles (or is pending) and released when it fails. Counters live in memory:
 * one process's view (see the README for several instances).
 */
export type SpendingCaps = {
  /** Reserves the payment, or answers why it is over a cap (nothing reserved then). */
  reserve(payment: CappedPayment): PaymentRefusal | undefined;
  /** Keeps a reservation (the money moved or may have). */
  commit(paymentId: string): void;
  /** Gives a reservation back (nothing moved). */
  release(paymentId: string): void;
  /** Today's committed + reserved total of a payer (or of everyone when `payer` is omitted). */
  spentToday(asset: string, network: string, now: number, payer?: string): bigint;
};

const DAY_MS = 86_400_000;

/**
 * Creates the caps of {@link riskControls}.
 *
 * @example const caps = spendingCaps({ perPayerDaily: [{ asset: usdc, max: 50_000_000n }] });
 */
export function spendingCaps(options: SpendingCapsOptions): SpendingCaps {
  for (const cap of [...(options.perTransaction ?? []), ...(options.perPayerDaily ?? []), ...(options.globalDaily ?? [])]) {
    if (cap.max < 0n) throw new ConfigurationError(`A cap on ${cap.asset} must not be negative.`);
  }
  const totals = new Map<string, bigint>();
  const reservations = new Map<string, { keys: string[]; amount: bigint }>();
  const find = (caps: readonly AmountCap[] | undefined, p: { asset: string; network: string }) =>
    caps?.find((c) => c.asset.toLowerCase() === p.asset.toLowerCase() && (c.network === undefined || c.network === p.network));
  const key = (day: number, p: { asset: string; network: string }, payer?: string) => `${day}|${p.network}|${p.asset.toLowerCase()}|${payer ?? '*'}`;

  return {
    reserve(p) {
      const one = find(options.perTransaction, p);
      if (one && p.amount > one.max) return { reason: 'over_transaction_cap', message: `A single payment here may be at most ${one.max} of ${p.asset}.` };
      const day = Math.floor(p.now / DAY_MS);
      const checks: Array<{ cap: AmountCap | undefined; key: string; what: string }> = [
        { cap: find(options.perPayerDaily, p), key: key(day, p, normalizePayer(p.payer)), what: 'over_payer_daily_cap' },
        { cap: find(options.globalDaily, p), key: key(day, p), what: 'over_global_daily_cap' },
      ];
      for (const c of checks) {
        if (c.cap && (totals.get(c.key) ?? 0n) + p.amount > c.cap.max) {
          return { reason: c.what, message: `This payment would pass today's cap of ${c.cap.max} of ${p.asset}${c.what === 'over_payer_daily_cap' ? ' for this payer' : ' for this server'}. Try again tomorrow (UTC).` };
        }
      }
      const keys = checks.filter((c) => c.cap).map((c) => c.key);
      for (const k of keys) totals.set(k, (totals.get(k) ?? 0n) + p.amount);
      reservations.set(p.paymentId, { keys, amount: p.amount });
      return undefined;
    },
    commit(paymentId) {
      reservations.delete(paymentId);
    },
    release(paymentId) {
      const r = reservations.get(paymentId);
      if (!r) return;
      reservations.delete(paymentId);
      for (const k of r.keys) totals.set(k, (totals.get(k) ?? 0n) - r.amount);
    },
    spentToday(asset, network, now, payer) {
      return totals.get(key(Math.floor(now / DAY_MS), { asset, network }, payer === undefined ? undefined : normalizePayer(payer))) ?? 0n;
    },
  };
}
