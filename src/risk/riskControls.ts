import type { PaywallEvent } from '../server/paywall';
import type {
  ExtensionVerifiedContext,
  PaymentRefusal,
  PaywallExtension,
  SettlementOutcome,
} from '../server/extensions';
import { hashCanonical } from '../core/canonical';
import { errorCodes } from '../core/errors';
import { evidenceDigest } from './auditEvidence';
import type { AuditLog, AuditRecord } from './auditLog';
import { circuitBreakers, type BreakerState, type CircuitBreakerOptions } from './circuitBreaker';
import { payerFailures, type PayerFailuresOptions } from './payerFailures';
import { payerScreening, type PayerScreeningOptions } from './payerScreening';
import type { CapCounter } from './capCounter';
import { spendingCaps, type SpendingCapsOptions } from './spendingCaps';

/** Options of {@link riskControls}. */
export type RiskControlsOptions = PayerScreeningOptions & {
  /** Per-transaction, per-payer daily and global daily caps per asset. */
  caps?: SpendingCapsOptions;
  /** Where cap totals live (default: this process's memory; `createSqliteCapCounter` to share them). */
  capCounter?: CapCounter;
  /** Per-rail circuit breakers (on by default: 5 consecutive failures, 30 s). `false` turns them off. */
  breaker?: CircuitBreakerOptions | false;
  /**
   * Per payer and route: after 3 payments (default) that verified, were served and then failed to settle, the
   * payer is refused there for 10 minutes (402 `payer_settlement_failures`). `false` turns it off.
   */
  payerFailures?: PayerFailuresOptions | false;
  /** Where challenges, payments, refusals, settlements (and refunds) are recorded with their evidence. */
  audit?: AuditLog;
  /** Told when an audit append fails (the payment is not held up by its audit). Gets no payload. */
  onAuditError?: (error: unknown) => void;
  /** Clock (default `Date.now`). */
  now?: () => number;
};

/** The risk extension, with its state for a status page. */
export type RiskControls = PaywallExtension & {
  /** Every rail's circuit breaker. */
  breakers(): BreakerState[];
  /** Today's total of a payer (or everyone) in an asset, committed and reserved. */
  spentToday(asset: string, network: string, payer?: string): Promise<bigint>;
};

/**
 * Server risk controls as one paywall extension. For every verified payment, before the handler runs and
 * before anything settles: deny/allow lists and the screening hook (402 `payer_denied`; a failing hook is 503,
 * fail closed), caps per transaction, per payer per day and globally per day (402 `over_…_cap`, reserved
 * atomically and given back when the settlement fails), and the rail's circuit breaker (503 `breaker_open`
 * after repeated settlement failures, then one trial). With `audit`, every challenge, payment, refusal and
 * settlement is appended with its evidence (request hash, the payload's SHA-256, the signed receipt with its proof
 * as a digest): what proves a payment, never what can be spent (see `redactSpendable`).
 *
 * @example
 * const risk = riskControls({ denyPayers: sanctioned, caps: { perPayerDaily: [{ asset: usdc, max: 100_000_000n }] }, audit: createSqliteAuditLog({ path }) });
 * const pw = paywall(routes, { rails, signer, extensions: [risk] });
 */
export function riskControls(options: RiskControlsOptions = {}): RiskControls {
  const now = options.now ?? Date.now;
  const screen = payerScreening(options);
  const caps = spendingCaps(options.caps ?? {}, options.capCounter);
  const breakers = options.breaker === false ? undefined : circuitBreakers(options.breaker);
  const failures = options.payerFailures === false ? undefined : payerFailures(options.payerFailures);
  const refusedHere = new Set<string>();
  // Undefined without a log, so `audit?.(…)` builds no record (and hashes no request) on the payment path.
  const log = options.audit;
  const audit = log
    ? (record: Omit<AuditRecord, 'at'>) => {
        log.append({ ...record, at: now() }).catch((error: unknown) => options.onAuditError?.(error));
      }
    : undefined;

  async function admit(ctx: ExtensionVerifiedContext): Promise<PaymentRefusal | undefined> {
    const screened = await screen(ctx);
    if (screened) return screened;
    if (failures?.suspended(ctx.route.key, ctx.payer, now())) {
      return {
        reason: 'payer_settlement_failures',
        message:
          'Payments of this payer verified but did not settle several times; it is refused here for now. Nothing was charged.',
      };
    }
    const capped = await caps.reserve({
      paymentId: ctx.paymentId,
      payer: ctx.payer,
      network: ctx.accepted.network,
      asset: ctx.accepted.asset,
      amount: BigInt(ctx.amount),
      now: now(),
    });
    if (capped) return capped;
    if (breakers && !breakers.admit(ctx.rail, now())) {
      await caps.release(ctx.paymentId);
      return {
        reason: 'breaker_open',
        message: `Settlement on ${ctx.rail} is paused after repeated failures; nothing was charged. Retry later or pay on another rail.`,
        status: 503,
        code: errorCodes.RISK_BREAKER_OPEN,
      };
    }
    return undefined;
  }

  return {
    name: 'risk-controls',
    async afterVerify(ctx) {
      const refusal = await admit(ctx);
      if (refusal) refusedHere.add(ctx.paymentId);
      audit?.({
        kind: refusal ? 'refused' : 'payment',
        route: ctx.route.key,
        paymentId: ctx.paymentId,
        rail: ctx.rail,
        network: ctx.accepted.network,
        asset: ctx.accepted.asset,
        payer: ctx.payer,
        amount: ctx.amount,
        requestHash: hashCanonical(ctx.binding),
        ...(refusal ? { reason: refusal.reason } : {}),
        // What proves the payment, never what can be spent: the payload's digest (its identity is `paymentId`).
        evidence: { payloadSha256: evidenceDigest(ctx.payload) },
      });
      return refusal;
    },
    async onSettlement(o: SettlementOutcome) {
      // Our own refusal is on record as such, and took no reservation and no trial: nothing to give back.
      if (refusedHere.delete(o.paymentId) && o.outcome === 'abandoned') return;
      if (o.outcome === 'settled' || o.outcome === 'pending') await caps.commit(o.paymentId);
      else await caps.release(o.paymentId);
      if (o.outcome === 'settled') failures?.succeeded(o.route, o.payer);
      else if (o.outcome === 'failed') failures?.failed(o.route, o.payer, now());
      if (o.outcome === 'settled') breakers?.succeeded(o.rail);
      else if (o.outcome === 'failed' || o.outcome === 'abandoned') breakers?.abandon(o.rail);
      else breakers?.failed(o.rail, now());
      audit?.({
        kind: 'settlement',
        route: o.route,
        paymentId: o.paymentId,
        rail: o.rail,
        network: o.accepted.network,
        asset: o.accepted.asset,
        payer: o.payer,
        amount: o.amount,
        requestHash: hashCanonical(o.binding),
        outcome: o.outcome,
        ...(o.reason !== undefined ? { reason: o.reason } : {}),
        ...(o.receipt ? { evidence: { receipt: o.receipt } } : {}),
      });
    },
    observe(event: PaywallEvent) {
      if (event.type === 'challenge')
        audit?.({
          kind: 'challenge',
          route: event.route,
          requestHash: hashCanonical(event.binding),
          evidence: { challengeId: event.challengeId },
        });
      else if (event.type === 'rejected')
        audit?.({ kind: 'rejected', route: event.route, reason: event.reason, evidence: { status: event.status } });
    },
    breakers: () => breakers?.states(now()) ?? [],
    spentToday: (asset, network, payer) => caps.spentToday(asset, network, now(), payer),
  };
}
