import { hashCanonical } from '../core/canonical';
import { ReceiptInvalidError } from '../core/errors';
import type { PaymentOutcome } from '../client/paymentOutcome';
import { verifyReceipt } from '../core/receipt/verifyReceipt';
import { CHALLENGE_FIELD } from '../server/challenge';
import { check } from './conformanceFailure';
import type { ConformanceContext } from './conformanceContext';

/** The request a receipt must bind. */
export type BoundRequest = { method: string; url: string; bodyHash: string };

/**
 * Checks the receipt payingFetch got, field by field, against the offer it paid and the request it made:
 * rail id, scheme, network, asset, amount, payee, payer (where the rail knows it), reference, proof shape,
 * request binding, requirements hash, challenge id, status, issuer, the x402 SettleResponse beside it, and
 * the signature against the paywall's JWKS (and that a changed field breaks it).
 */
export async function checkReceipt(
  ctx: ConformanceContext,
  outcome: PaymentOutcome,
  request: BoundRequest,
): Promise<void> {
  const { setup } = ctx;
  const same = setup.sameAddress ?? ((a: string, b: string) => a === b);
  check(outcome.receiptError === undefined, 'payingFetch could not verify the receipt.', {
    error: outcome.receiptError?.message,
  });
  const receipt = outcome.receipt;
  const signed = outcome.signedReceipt;
  check(
    receipt !== undefined && signed !== undefined,
    'The paid answer must carry a signed receipt in PAYMENT-RESPONSE extensions.',
  );
  const offer = outcome.offer;
  const field = (name: string, actual: unknown, expected: unknown) =>
    check(actual === expected, `receipt.${name} must be ${String(expected)}.`, { actual });

  field('v', receipt.v, 1);
  check(receipt.id.length > 0, 'receipt.id must not be empty.');
  field('rail', receipt.rail, setup.server.id);
  field('scheme', receipt.scheme, offer.scheme);
  field('network', receipt.network, offer.network);
  field('asset', receipt.asset, offer.asset);
  field('amount', receipt.amount, ctx.charged.toString());
  if (setup.charge === undefined) field('amount (of the offer)', receipt.amount, offer.amount);
  else if (ctx.charged !== ctx.price) field('maxAmount (the offer)', receipt.maxAmount, offer.amount);
  check(same(receipt.payee, offer.payTo), "receipt.payee must be the offer's payTo.", {
    payee: receipt.payee,
    payTo: offer.payTo,
  });
  if (setup.payee !== undefined)
    check(same(receipt.payee, setup.payee), "receipt.payee must be the setup's payee.", { payee: receipt.payee });
  if (setup.payer !== undefined)
    check(same(receipt.payer, setup.payer), 'receipt.payer must be the paying wallet.', {
      payer: receipt.payer,
      expected: setup.payer,
    });
  check(receipt.reference.trim().length > 0, 'receipt.reference must name the settlement.');
  check(receipt.proof === undefined || receipt.proof.length > 0, 'receipt.proof, when present, must not be empty.');
  field('request.method', receipt.request.method, request.method);
  field('request.url', receipt.request.url, request.url);
  field('request.bodyHash', receipt.request.bodyHash, request.bodyHash);
  field('protocol', receipt.protocol, ctx.protocol);
  if (ctx.protocol === 'mpp') {
    check(ctx.mppChallenges.has(receipt.challenge), 'receipt.challenge must be the id of the Payment challenge paid.', {
      challenge: receipt.challenge,
    });
    // The receipt binds the offer the challenge sealed (the client paid its reading of the challenge's request).
    const sealed = ctx.mppChallenges.get(receipt.challenge);
    check(
      sealed !== undefined && sealed.amount === offer.amount && same(sealed.payTo, offer.payTo),
      'The Payment challenge paid must seal an offer of the same payment.',
    );
    field('requirementsHash', receipt.requirementsHash, hashCanonical(sealed));
  } else if (ctx.protocol === 'l402') {
    // An L402 token carries no x402 offer: the receipt binds the offer the rail reads from the macaroon.
    check(receipt.requirementsHash.length > 0, 'receipt.requirementsHash must not be empty.');
    check(receipt.challenge.length > 0, 'receipt.challenge must name the token paid.');
  } else {
    field('requirementsHash', receipt.requirementsHash, hashCanonical(offer));
    const token = offer.extra[CHALLENGE_FIELD];
    check(
      typeof token === 'string' && receipt.challenge === token.split('.')[0],
      'receipt.challenge must be the id of the challenge paid.',
      { challenge: receipt.challenge },
    );
  }
  field('status', receipt.status, 'settled');
  field('issuer', receipt.issuer, new URL(request.url).origin);
  check(!Number.isNaN(Date.parse(receipt.issuedAt)), 'receipt.issuedAt must be an ISO time.', {
    issuedAt: receipt.issuedAt,
  });
  check(
    receipt.settledAt === undefined || !Number.isNaN(Date.parse(receipt.settledAt)),
    'receipt.settledAt, when present, must be an ISO time.',
    { settledAt: receipt.settledAt },
  );

  const settle = outcome.settleResponse;
  check(settle !== undefined && settle.success, 'PAYMENT-RESPONSE must report success.');
  field('reference (= SettleResponse.transaction)', receipt.reference, settle.transaction);
  field('network (= SettleResponse.network)', receipt.network, settle.network);
  if (settle.payer !== undefined) field('payer (= SettleResponse.payer)', receipt.payer, settle.payer);
  if (settle.amount !== undefined) field('amount (= SettleResponse.amount)', receipt.amount, settle.amount);
  const emitted = ctx.settled.at(-1);
  check(
    emitted !== undefined && emitted.id === receipt.id && emitted.signature === signed.signature,
    'The receipt the client got must be the one the paywall reported settled.',
    { emitted: emitted?.id },
  );
  if (setup.checkSettlement) await setup.checkSettlement(receipt);

  const verified = await verifyReceipt(signed, ctx.pw.jwks(), { request, issuer: receipt.issuer });
  check(verified.id === receipt.id, 'verifyReceipt must return the same receipt.');
  const forged = await verifyReceipt({ ...signed, amount: (ctx.price + 1n).toString() }, ctx.pw.jwks()).then(
    () => undefined,
    (error: unknown) => error,
  );
  check(forged instanceof ReceiptInvalidError, 'A receipt with a changed amount must not verify.');
}
