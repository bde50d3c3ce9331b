import { hashCanonical, sha256Base64Url } from '../core/canonical';
import { ReceiptInvalidError } from '../core/errors';
import { canConfirmSettlement, type ClientRail, type RequestBinding, type Wallet } from '../core/rail';
import { SignedReceiptSchema, type Receipt, type SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptJwks } from '../core/receipt/signer';
import { verifyReceipt } from '../core/receipt/verifyReceipt';
import type { PaymentRequirements } from '../protocol/schemas';

/** How a receipt was checked: the issuer's signature (and its bindings), the chain, or not at all. */
export type ReceiptCheck = 'signature' | 'on_chain' | 'unchecked';

/** What the client paid: the request it sent, the offer it paid, and the origin it paid. */
export type PaidRequest = { binding: RequestBinding; offer: PaymentRequirements; origin: string };

/**
 * The binding of a request as the server computes it (`readBinding`): upper-case method, the URL (without its
 * fragment, which is never sent), and the
 * base64url SHA-256 of the body (of the empty string for GET, HEAD and bodiless requests).
 *
 * @example requestBinding('POST', 'https://api.example.com/llm', new TextEncoder().encode('{}'))
 */
export function requestBinding(method: string, url: string, body: Uint8Array | undefined): RequestBinding {
  const m = method.toUpperCase();
  const bytes = m === 'GET' || m === 'HEAD' || body === undefined ? new Uint8Array() : body;
  // A fragment never leaves the client, so the server's URL has none.
  const sent = new URL(url);
  sent.hash = '';
  return { method: m, url: sent.href, bodyHash: sha256Base64Url(bytes) };
}

/**
 * Verifies a server's signed receipt as a receipt of THIS payment: the signature against the origin's JWKS, the
 * issuer equal to the origin paid, the request it binds equal to the request sent (method, URL, body hash), and
 * the offer it binds equal to the offer paid (requirements hash, network, asset, payee, an amount no larger).
 * Throws {@link ReceiptInvalidError} naming the first field that differs, so a genuine receipt of another
 * request (replayed by the server) is never taken as this one's.
 *
 * @example const receipt = await checkServerReceipt(signed, jwks, { binding, offer, origin });
 */
export async function checkServerReceipt(
  signed: unknown,
  jwks: ReceiptJwks,
  paid: PaidRequest,
): Promise<{ receipt: Receipt; signed: SignedReceipt }> {
  const receipt = await verifyReceipt(signed, jwks, { request: paid.binding, issuer: paid.origin });
  const offer = paid.offer;
  const expect: Array<[string, string, string]> = [
    ['requirementsHash', receipt.requirementsHash, hashCanonical(offer)],
    ['network', receipt.network, offer.network],
    ['asset', receipt.asset, offer.asset],
    ['payee', receipt.payee, offer.payTo],
  ];
  for (const [field, actual, expected] of expect) {
    if (actual !== expected) {
      throw new ReceiptInvalidError(`The receipt was issued for another payment (${field} differs).`, {
        details: { field, expected, actual },
      });
    }
  }
  if (BigInt(receipt.amount) > BigInt(offer.amount)) {
    throw new ReceiptInvalidError('The receipt states more than the offer paid (amount differs).', {
      details: { field: 'amount', expected: offer.amount, actual: receipt.amount },
    });
  }
  return { receipt, signed: SignedReceiptSchema.parse(signed) };
}

/**
 * Checks a receipt the client built from a plain x402 server's SettleResponse on chain, when the rail can:
 * `on_chain` when the transaction moved the amount from this wallet to the payee, `unchecked` when the rail or
 * wallet cannot read the chain. Throws {@link ReceiptInvalidError} when the chain refutes it.
 *
 * @example const check = await checkSettledOnChain(rail, wallet, offer, settle.transaction);
 */
export async function checkSettledOnChain(
  rail: ClientRail,
  wallet: Wallet,
  offer: PaymentRequirements,
  reference: string,
): Promise<ReceiptCheck> {
  if (!canConfirmSettlement(rail)) return 'unchecked';
  const check = await rail.confirmSettlement({ offer, reference }, wallet);
  if (check === undefined) return 'unchecked';
  if (check.status === 'refuted') {
    throw new ReceiptInvalidError(
      `The server reported settlement ${reference}, but the chain refutes it: ${check.message}`,
      { details: { reason: check.reason, reference } },
    );
  }
  return 'on_chain';
}
