import type { PaymentStore } from '../stores/paymentStore';

/** The claim of one payment attempt, kept alive while the attempt runs. */
export type ClaimLease = {
  /** True once a renewal found the claim taken by someone else: this attempt must not deliver or settle. */
  readonly lost: boolean;
  /**
   * True when the claim is still this attempt's. Free while the lease surely has not run out (no store call on
   * a fast request); past that, renews it first (a store call) and answers whether that worked.
   */
  confirm(): Promise<boolean>;
  /** Stops renewing (the claim became pending, settled, failed or was freed); later renewals are ignored. */
  stop(): void;
};

/** Parameters of {@link keepClaim}. */
export type KeepClaimParameters = {
  store: PaymentStore;
  paymentId: string;
  owner: string;
  leaseMs: number;
  now: () => number;
};

/**
 * Keeps a claim alive for as long as its attempt lives: renews it every third of the lease (a timer that does
 * nothing on a request faster than that), so a slow handler never lets the lease lapse and another request
 * take the same payment over. Only the claim's owner can renew it; a renewal that finds it taken marks the
 * lease lost. A renewal that fails (store unreachable) is retried on the next tick; {@link ClaimLease.confirm}
 * renews synchronously when the lease is near its end.
 *
 * @example
 * const lease = keepClaim({ store, paymentId, owner: claim.owner, leaseMs, now: Date.now });
 * try { await handler(); if (!(await lease.confirm())) return claimLost(); await settle(); } finally { lease.stop(); }
 */
export function keepClaim(p: KeepClaimParameters): ClaimLease {
  let heldUntil = p.now() + p.leaseMs;
  let lost = false;
  let stopped = false;
  // Keep a margin so that a claim confirmed now is still ours when the settlement starts.
  const margin = Math.min(p.leaseMs / 4, 2_000);
  const renew = async (): Promise<boolean> => {
    const at = p.now();
    const kept = await p.store.renew(p.paymentId, p.owner, p.leaseMs);
    if (stopped) return !lost;
    if (kept) heldUntil = at + p.leaseMs;
    else {
      lost = true;
      clearInterval(timer);
    }
    return kept;
  };
  const timer = setInterval(
    () => {
      renew().catch(() => undefined);
    },
    Math.max(1, Math.floor(p.leaseMs / 3)),
  );
  timer.unref?.();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return {
    get lost() {
      return lost;
    },
    async confirm() {
      if (lost) return false;
      if (p.now() < heldUntil - margin) return true;
      return renew();
    },
    stop,
  };
}
