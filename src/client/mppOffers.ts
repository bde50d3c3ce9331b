import { speaksMppClient, type MppClientRail } from '../core/mppRail';
import type { ClientRail, CreatePaymentContext, Wallet } from '../core/rail';
import { RECEIPT_EXTENSION_KEY } from '../core/receipt/receipt';
import { headerNames } from '../protocol/headers';
import { decodeBase64UrlObject } from '../protocol/mpp/encoding';
import { mppHeaderNames, parseMppChallenges, type MppChallenge } from '../protocol/mpp/mppChallenge';
import { serializeMppCredential } from '../protocol/mpp/mppCredential';
import { MPP_SIGNED_RECEIPT_KEY, parseMppReceipt } from '../protocol/mpp/mppReceipt';
import { PaymentRequirementsSchema, type PaymentRequirements, type SettleResponse } from '../protocol/schemas';

/**
 * The MPP side of a 402 for payingFetch: each `WWW-Authenticate: Payment` challenge a client rail can pay, read as
 * an offer in the x402 shape, so the one negotiation (policy, budgets, preference) judges it beside the x402
 * offers and one payment is made for the request whichever protocol wins.
 */

/** One payable MPP challenge: the offer it reads as, the challenge, and the rail that reads it. */
export type MppOffer = {
  offer: PaymentRequirements;
  challenge: MppChallenge;
  rail: MppClientRail;
  /**
   * The offer a server's signed receipt binds: the sealed x402 offer an x402-rails server carries in `opaque`
   * (when it states the same payment), else `offer`.
   */
  receiptOffer: PaymentRequirements;
};

/**
 * The payable MPP challenges of a 402 (none when it has none, or they are malformed: the x402 challenge of the
 * same 402 still stands).
 */
export function readMppOffers(response: Response, rails: readonly ClientRail[]): MppOffer[] {
  const header = response.headers.get(headerNames.wwwAuthenticate);
  if (header === null) return [];
  let challenges: MppChallenge[];
  try {
    challenges = parseMppChallenges(header);
  } catch {
    return [];
  }
  const out: MppOffer[] = [];
  for (const challenge of challenges) {
    if (challenge.header !== undefined && challenge.header.toLowerCase() !== 'authorization') continue;
    for (const rail of rails) {
      if (!speaksMppClient(rail) || rail.mpp.method !== challenge.method || rail.mpp.intent !== challenge.intent)
        continue;
      const offer = rail.mpp.offer(challenge);
      if (!offer) continue;
      out.push({ offer, challenge, rail, receiptOffer: sealedOfferOf(challenge, offer) ?? offer });
      break;
    }
  }
  return out;
}

function sealedOfferOf(challenge: MppChallenge, offer: PaymentRequirements): PaymentRequirements | undefined {
  if (challenge.opaque === undefined) return undefined;
  try {
    const sealed = PaymentRequirementsSchema.safeParse(
      decodeBase64UrlObject(challenge.opaque, 'WWW-Authenticate', 'opaque'),
    );
    if (!sealed.success) return undefined;
    const s = sealed.data;
    const same =
      s.network === offer.network &&
      s.amount === offer.amount &&
      s.asset.toLowerCase() === offer.asset.toLowerCase() &&
      s.payTo.toLowerCase() === offer.payTo.toLowerCase();
    return same ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the credential of an MPP offer (the rail signs, or pays first) and answers the headers of the retry. */
export async function mppCredentialHeaders(
  mpp: MppOffer,
  wallet: Wallet,
  ctx: CreatePaymentContext,
): Promise<Record<string, string>> {
  const { payload, source } = await mpp.rail.mpp.createCredential(mpp.challenge, mpp.offer, wallet, ctx);
  return {
    [headerNames.authorization]: serializeMppCredential({
      challenge: mpp.challenge,
      payload,
      ...(source !== undefined ? { source } : {}),
    }),
  };
}

/**
 * The settlement an MPP server reported, as a SettleResponse: from `Payment-Receipt` (its reference; an
 * x402-rails server's signed receipt under `extensions`, as PAYMENT-RESPONSE would carry it). Undefined when the
 * response has no readable receipt.
 */
export function mppSettleResponse(response: Response, offer: PaymentRequirements): SettleResponse | undefined {
  const header = response.headers.get(mppHeaderNames.paymentReceipt);
  if (header === null) return undefined;
  try {
    const receipt = parseMppReceipt(header);
    const signed = receipt[MPP_SIGNED_RECEIPT_KEY];
    return {
      success: true,
      transaction: receipt.reference,
      network: offer.network,
      ...(signed !== undefined ? { extensions: { [RECEIPT_EXTENSION_KEY]: signed } } : {}),
    };
  } catch {
    return undefined;
  }
}

/** True when two offers ask for the same payment (network, asset, payee, amount). */
function samePayment(a: PaymentRequirements, b: PaymentRequirements): boolean {
  return (
    a.network === b.network &&
    a.amount === b.amount &&
    a.asset.toLowerCase() === b.asset.toLowerCase() &&
    a.payTo.toLowerCase() === b.payTo.toLowerCase()
  );
}

/**
 * The offers of one 402 for negotiation, in protocol preference order. A payment offered in several protocols
 * (an x402 offer and the MPP challenge for the same network, asset, payee and amount) is listed once, in the
 * preferred protocol, so it is judged, reserved and paid once.
 */
export function offersByProtocol(
  x402: readonly PaymentRequirements[],
  mpp: readonly MppOffer[],
  protocols: readonly ('x402' | 'mpp')[],
): PaymentRequirements[] {
  const out: { offer: PaymentRequirements; protocol: 'x402' | 'mpp' }[] = [];
  for (const protocol of protocols) {
    const offers = protocol === 'x402' ? x402 : mpp.map((m) => m.offer);
    // Offers of one protocol are all kept (EIP-3009 and EIP-2612 for one price are two ways to pay, not one).
    for (const offer of offers)
      if (!out.some((o) => o.protocol !== protocol && samePayment(o.offer, offer))) out.push({ offer, protocol });
  }
  return out.map((o) => o.offer);
}
