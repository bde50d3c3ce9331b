import type { ExtensionVerifiedContext, PaymentRefusal } from '../server/extensions';
import { errorCodes } from '../core/errors';

/** Who is paying, as a screening hook sees it. */
export type ScreenedPayer = { payer: string; network: string; rail: string };

/** A screening hook's answer: allowed, or refused with a reason the refusal carries. */
export type ScreeningResult = { allowed: true } | { allowed: false; reason?: string };

/**
 * Payer allow/deny lists and a screening hook (plug a sanctions list in). A payer on the deny list, off a
 * given allow list, or refused by the hook is answered 402 `payer_denied` before anything is served or
 * settled; a hook that throws is 503 `screening_unavailable` (fail closed: a payment is never taken unscreened).
 */
export type PayerScreeningOptions = {
  /** Only these payers may pay (addresses; EVM addresses compare case-insensitively). */
  allowPayers?: readonly string[];
  /** These payers may not pay. */
  denyPayers?: readonly string[];
  /** Called for every verified payment after the lists; e.g. a sanctions API. */
  screen?: (payer: ScreenedPayer) => Promise<ScreeningResult>;
};

/** EVM addresses are case-insensitive (EIP-55 is only a checksum); every other rail's ids are exact. */
export function normalizePayer(payer: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(payer) ? payer.toLowerCase() : payer;
}

/**
 * Builds the payer check of {@link riskControls}.
 *
 * @example const check = payerScreening({ denyPayers: ['0xBad…'] }); const refusal = await check(ctx);
 */
export function payerScreening(
  options: PayerScreeningOptions,
): (ctx: ExtensionVerifiedContext) => Promise<PaymentRefusal | undefined> {
  const allow = options.allowPayers ? new Set(options.allowPayers.map(normalizePayer)) : undefined;
  const deny = new Set((options.denyPayers ?? []).map(normalizePayer));
  return async (ctx) => {
    const payer = normalizePayer(ctx.payer);
    if (deny.has(payer)) return { reason: 'payer_denied', message: 'This payer may not pay here.' };
    if (allow && !allow.has(payer))
      return { reason: 'payer_denied', message: 'This payer is not on the allow list of this server.' };
    if (!options.screen) return undefined;
    let result: ScreeningResult;
    try {
      result = await options.screen({ payer: ctx.payer, network: ctx.accepted.network, rail: ctx.rail });
    } catch {
      return {
        reason: 'screening_unavailable',
        message: 'Payer screening could not be completed; nothing was charged. Retry later.',
        status: 503,
        code: errorCodes.RISK_SCREENING_UNAVAILABLE,
      };
    }
    if (result.allowed) return undefined;
    return {
      reason: 'payer_denied',
      message: `This payer may not pay here${result.reason ? ` (${result.reason})` : ''}.`,
    };
  };
}
