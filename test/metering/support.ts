import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { payingFetch, type FetchLike } from '../../src/client/payingFetch';
import { meteredFetch } from '../../src/client/meteredFetch';
import { RECEIPT_EXTENSION_KEY, SignedReceiptSchema, type SignedReceipt } from '../../src/core/receipt/receipt';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { decodePaymentResponseHeader } from '../../src/protocol/headers';
import { metering, type MeteringOptions } from '../../src/metering/metering';
import type { MeteringRefunder } from '../../src/metering/meteringRefunder';
import { paywall } from '../../src/server/paywall';
import { createFakeLedger, fakeRail } from '../unit/support/fakeRail';

export const ORIGIN = 'http://meter.test';

/** The signed receipt of a paid response's PAYMENT-RESPONSE (the deposit's). */
export function depositReceiptOf(response: Response): SignedReceipt | undefined {
  const header = response.headers.get('PAYMENT-RESPONSE');
  if (header === null) return undefined;
  const parsed = SignedReceiptSchema.safeParse(decodePaymentResponseHeader(header).extensions?.[RECEIPT_EXTENSION_KEY]);
  return parsed.success ? parsed.data : undefined;
}
/** Deposit of `POST /llm`: the most a session may use. */
export const DEPOSIT = 1_000n;

/**
 * A handler that reports the usage units the request asks for (`x-units`; none = no report) and answers
 * the status in `x-status` (default 200), after `x-delay-ms`.
 */
export async function usageHandler(request: Request): Promise<Response> {
  const delay = Number(request.headers.get('x-delay-ms') ?? 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const units = request.headers.get('x-units');
  const status = Number(request.headers.get('x-status') ?? 200);
  return Response.json(
    { ok: status < 400, path: new URL(request.url).pathname },
    { status, headers: units === null ? {} : { 'X402-Usage': units } },
  );
}

/**
 * A paywall on the fake rail (real fake-money ledger) with the metering extension: `POST /llm` (deposit 1,000,
 * 100 units × 2 reserved per call) and `POST /embed` (same price, also metered), a refunder that moves fake money
 * back from the merchant, served in-process.
 */
export async function meteringSetup(
  options: Partial<MeteringOptions> & { needsDestination?: boolean; ledger?: ReturnType<typeof createFakeLedger> } = {},
) {
  const shared = options.ledger !== undefined;
  const ledger = options.ledger ?? createFakeLedger();
  const alice = shared
    ? { kind: 'fake' as const, address: 'alice', key: ledger.keys.get('alice') ?? Buffer.alloc(32) }
    : ledger.open('alice', 100_000n);
  if (!shared) ledger.open('merchant', 0n);
  const rail = fakeRail({ ledger, payTo: 'merchant' });
  const refunds: Array<{ to: string; amount: bigint; destination?: string }> = [];
  const refunder: MeteringRefunder = {
    needsDestination: options.needsDestination ?? false,
    async refund(r) {
      if (options.needsDestination && r.destination !== `invoice:${r.amount}`)
        return { status: 'refused', reason: 'amount_mismatch', message: 'wrong invoice' };
      ledger.balances.set('merchant', ledger.balanceOf('merchant') - r.amount);
      ledger.balances.set(r.payer, ledger.balanceOf(r.payer) + r.amount);
      refunds.push({
        to: r.payer,
        amount: r.amount,
        ...(r.destination !== undefined ? { destination: r.destination } : {}),
      });
      return { status: 'sent', reference: `refund-${refunds.length}` };
    },
  };
  const signer = options.signer ?? (await createReceiptSigner());
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  const { needsDestination: _n, ledger: _l, ...meteringOptions } = options;
  const meter = metering({
    token: await jwsCapabilityToken(),
    signer,
    routes: {
      'POST /llm': { maxUnitsPerCall: 100n, unitPrice: 2n },
      'POST /embed': { maxUnitsPerCall: 100n, unitPrice: 2n },
    },
    refunds: { 'fake-exact': refunder },
    ...meteringOptions,
  });
  const pw = paywall(
    {
      'POST /llm': { accepts: [{ rail: 'fake-exact', amount: DEPOSIT }] },
      'POST /embed': { accepts: [{ rail: 'fake-exact', amount: DEPOSIT }] },
    },
    { rails: [rail], signer, extensions: [meter], now: clock.now },
  );
  const app = pw.wrap(usageHandler);
  const fetch: FetchLike = async (input, init) => app(new Request(input, init));
  const pay = payingFetch(fetch, { adapters: [rail], wallets: [alice], verifyReceipts: false, capabilities: false });
  const client = () => meteredFetch({ pay, fetch, refundDestination: async ({ amount }) => `invoice:${amount}` });
  /** A call presenting `session` (no payment). */
  const call = (session: string, units: string | undefined, extra: Record<string, string> = {}, path = '/llm') =>
    fetch(`${ORIGIN}${path}`, {
      method: 'POST',
      headers: { 'X402-Metering-Session': session, ...(units === undefined ? {} : { 'x-units': units }), ...extra },
    });
  return { ledger, alice, rail, refunds, signer, meter, pw, fetch, pay, client, call, clock };
}
