import { decodePaymentRequiredHeader, headerNames } from '../protocol/headers';
import { parseBoundedJson } from '../protocol/jsonCodec';
import type { PaymentRequired, PaymentRequirements } from '../protocol/schemas';
import { parsePaymentRequiredV1, v1ToV2Requirements, type PaymentRequirementsV1 } from '../protocol/v1';

/** A 402 challenge read from a response, normalized to v2 offers. */
export type ReadChallenge =
  | { version: 2; paymentRequired: PaymentRequired; offers: PaymentRequirements[] }
  | { version: 1; offers: PaymentRequirements[]; v1Offers: PaymentRequirementsV1[]; resourceUrl: string };

/**
 * Reads the x402 challenge of a 402 response: the v2 PAYMENT-REQUIRED header, else a v1 JSON body.
 * Returns undefined for a 402 that is not x402 (e.g. L402 only). Throws MalformedInputError for an x402
 * challenge that is malformed.
 */
export async function readChallenge(response: Response): Promise<ReadChallenge | undefined> {
  const header = response.headers.get(headerNames.paymentRequired);
  if (header !== null) {
    const paymentRequired = decodePaymentRequiredHeader(header);
    return { version: 2, paymentRequired, offers: paymentRequired.accepts };
  }
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  const text = await response.clone().text();
  if (text.length > 256 * 1024) return undefined;
  let body: unknown;
  try {
    body = parseBoundedJson(text, { what: '402 body' });
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const version = (body as { x402Version?: unknown }).x402Version;
  if (version === 2 && 'accepts' in body) {
    return readChallenge(
      new Response(null, { headers: { [headerNames.paymentRequired]: Buffer.from(text).toString('base64') } }),
    );
  }
  if (version !== 1) return undefined;
  const v1 = parsePaymentRequiredV1(body);
  const offers: PaymentRequirements[] = [];
  const v1Offers: PaymentRequirementsV1[] = [];
  for (const offer of v1.accepts) {
    const v2 = v1ToV2Requirements(offer);
    if (v2) {
      offers.push(v2);
      v1Offers.push(offer);
    }
  }
  return { version: 1, offers, v1Offers, resourceUrl: v1.accepts[0]?.resource ?? response.url };
}
