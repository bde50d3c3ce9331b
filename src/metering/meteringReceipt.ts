import { randomUUID } from 'node:crypto';
import type { RequestBinding } from '../core/rail';
import { SignedReceiptSchema, type Receipt, type SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import { decodeBase64Json, encodeBase64Json } from '../protocol/jsonCodec';
import type { MeterSession, RefundState } from './meterSession';

/** The metered part of one receipt. */
export type MeteringReceiptPart = { seq: number; charged: bigint; used: bigint; final?: boolean; refund?: RefundState };

/**
 * Signs a metering receipt with the paywall's receipt signer (so it verifies with the same JWKS): the deposit's
 * rail, asset, payer, payee and settlement reference, the request it was issued for, and the metering part
 * (session, deposit receipt id, order, charged, running total, remaining; on close `final` and the refund).
 * `amount` is what this call was charged; on the final receipt, the session's total.
 *
 * @example const receipt = await signMeteringReceipt(signer, session, binding, Date.now(), { seq: 2, charged: 120n, used: 620n });
 */
export function signMeteringReceipt(
  signer: ReceiptSigner,
  session: MeterSession,
  binding: RequestBinding,
  now: number,
  part: MeteringReceiptPart,
): Promise<SignedReceipt> {
  const at = new Date(now).toISOString();
  // An authorized session's final transfer is the settlement of its total (its transaction is the receipt's reference), not a refund.
  const settles = session.authorization !== undefined;
  const receipt: Receipt = {
    v: 1,
    id: randomUUID(),
    issuer: session.issuer,
    rail: session.rail,
    scheme: session.scheme,
    network: session.network,
    asset: session.asset,
    amount: (part.final ? part.used : part.charged).toString(),
    // The final receipt of an authorized session states what was settled (`amount`) and the maximum authorized.
    ...(settles && part.final && part.used !== session.authorized ? { maxAmount: session.authorized.toString() } : {}),
    payer: session.payer,
    payee: session.payee,
    reference: (settles ? part.refund?.reference : undefined) ?? session.depositReference,
    request: { method: binding.method, url: binding.url, bodyHash: binding.bodyHash },
    requirementsHash: session.requirementsHash,
    challenge: session.challenge,
    status: 'settled',
    issuedAt: at,
    settledAt: at,
    metering: {
      session: session.id,
      deposit: session.depositReceipt,
      seq: part.seq,
      authorized: session.authorized.toString(),
      charged: part.charged.toString(),
      used: part.used.toString(),
      remaining: (session.authorized - part.used).toString(),
      ...(part.final ? { final: true } : {}),
      ...(part.refund
        ? {
            [settles ? 'settlement' : 'refund']: {
              amount: part.refund.amount.toString(),
              status: part.refund.status,
              ...(part.refund.reference !== undefined ? { reference: part.refund.reference } : {}),
            },
          }
        : {}),
    },
  };
  return signer.sign(receipt);
}

/**
 * The `X402-Metering-Receipt` header value of a signed receipt (standard base64 of its JSON).
 *
 * @example headers.set(meteringHeaders.receipt, encodeMeteringReceipt(receipt));
 */
export function encodeMeteringReceipt(receipt: SignedReceipt): string {
  return encodeBase64Json(receipt);
}

/**
 * Reads an `X402-Metering-Receipt` header value; undefined when it is not a signed receipt. The signature is
 * not checked here: pass the result to `verifyReceipt` with the server's JWKS.
 *
 * @example const receipt = decodeMeteringReceipt(res.headers.get('X402-Metering-Receipt'));
 */
export function decodeMeteringReceipt(value: string | null): SignedReceipt | undefined {
  if (value === null) return undefined;
  try {
    const parsed = SignedReceiptSchema.safeParse(
      decodeBase64Json(value, { what: 'X402-Metering-Receipt', maxBytes: 64 * 1024 }),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
