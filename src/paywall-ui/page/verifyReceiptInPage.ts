import { canonicalJson } from '../../core/canonicalJson';
import { fromBase64, toBase64Url } from './bytes';

/** A receipt as the page reads it (the fields it shows and checks; the signature covers every field). */
export type PageReceipt = Record<string, unknown> & {
  signature: string;
  rail?: string;
  amount?: string;
  reference?: string;
  request?: { method?: string; url?: string };
};

/** Outcome of {@link verifyReceiptInPage}. */
export type ReceiptVerdict = { ok: true; kid: string } | { ok: false; reason: string };

type Jwk = { kty?: string; crv?: string; x?: string; kid?: string };

/**
 * Verifies a signed receipt in the browser with Web Crypto (Ed25519), as `verifyReceipt` does on the server:
 * the detached compact JWS over the canonical JSON of every field but `signature`, by a key of the issuer's JWKS
 * (`kid` of the protected header), typed `x402-receipt+jws`, and bound to the request this page paid for.
 */
export async function verifyReceiptInPage(
  receipt: PageReceipt,
  jwksUrl: string,
  request: { method: string; url: string },
): Promise<ReceiptVerdict> {
  const parts = receipt.signature.split('.');
  const [protectedPart = '', middle, signaturePart = ''] = parts;
  if (parts.length !== 3 || middle !== '') return { ok: false, reason: 'the signature is not a detached JWS' };
  let header: { alg?: string; kid?: string; typ?: string };
  try {
    header = JSON.parse(new TextDecoder().decode(fromBase64(protectedPart))) as typeof header;
  } catch {
    return { ok: false, reason: 'the signature header is malformed' };
  }
  if (header.alg !== 'EdDSA' || header.typ !== 'x402-receipt+jws')
    return { ok: false, reason: 'the signature is not an x402-rails receipt signature' };
  let jwks: { keys?: Jwk[] };
  try {
    const res = await fetch(jwksUrl, { headers: { Accept: 'application/json' } });
    jwks = (await res.json()) as typeof jwks;
  } catch {
    return { ok: false, reason: "the server's key set could not be fetched" };
  }
  const jwk = (jwks.keys ?? []).find(
    (k) =>
      k.kty === 'OKP' &&
      k.crv === 'Ed25519' &&
      typeof k.x === 'string' &&
      (header.kid === undefined || k.kid === header.kid),
  );
  if (!jwk?.x) return { ok: false, reason: "no key of the server's key set matches the signature" };
  const { signature: _signature, ...unsigned } = receipt;
  const signingInput = `${protectedPart}.${toBase64Url(new TextEncoder().encode(canonicalJson(unsigned)))}`;
  let valid: boolean;
  try {
    const key = await crypto.subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
      { name: 'Ed25519' },
      false,
      ['verify'],
    );
    valid = await crypto.subtle.verify(
      { name: 'Ed25519' },
      key,
      fromBase64(signaturePart),
      new TextEncoder().encode(signingInput),
    );
  } catch {
    return { ok: false, reason: 'this browser cannot check Ed25519 signatures' };
  }
  if (!valid)
    return { ok: false, reason: 'the signature does not match the receipt (it was altered or signed by another key)' };
  if (receipt.request?.method !== request.method || receipt.request?.url !== request.url.split('#')[0])
    return { ok: false, reason: 'the receipt was issued for another request' };
  return { ok: true, kid: jwk.kid ?? '(no kid)' };
}
