import { compactVerify, createLocalJWKSet, errors as joseErrors } from 'jose';
import { ReceiptInvalidError } from '../errors';
import { canonicalJson } from '../canonical';
import { SignedReceiptSchema, type Receipt } from './receipt';
import type { ReceiptJwks } from './signer';

/** Parameters of {@link verifyReceipt}. */
export type VerifyReceiptOptions = {
  /** When given, the receipt must bind this request. */
  request?: { method?: string; url?: string; bodyHash?: string };
  /** When given, the receipt's issuer must equal it. */
  issuer?: string;
};

/**
 * Verifies a signed receipt offline against the issuer's JWKS: schema, signature over every field, and
 * optionally the request it must bind. Returns the receipt without its signature; throws
 * {@link ReceiptInvalidError} on any tampering.
 *
 * @example
 * const receipt = await verifyReceipt(signed, await (await fetch(origin + RECEIPT_JWKS_PATH)).json());
 */
export async function verifyReceipt(
  signed: unknown,
  jwks: ReceiptJwks,
  options: VerifyReceiptOptions = {},
): Promise<Receipt> {
  const parsed = SignedReceiptSchema.safeParse(signed);
  if (!parsed.success)
    throw new ReceiptInvalidError(`The receipt is malformed: ${malformedFields(signed, parsed.error.issues)}.`);
  const { signature, ...receipt } = parsed.data;
  const parts = signature.split('.');
  if (parts.length !== 3 || parts[1] !== '')
    throw new ReceiptInvalidError('The receipt signature is not a detached compact JWS.');
  const payload = Buffer.from(canonicalJson(receipt), 'utf8').toString('base64url');
  try {
    const { protectedHeader } = await compactVerify(`${parts[0]}.${payload}.${parts[2]}`, createLocalJWKSet(jwks), {
      algorithms: ['EdDSA'],
    });
    if (protectedHeader.typ !== 'x402-receipt+jws')
      throw new ReceiptInvalidError('The receipt signature has the wrong type.');
  } catch (cause) {
    if (cause instanceof ReceiptInvalidError) throw cause;
    const reason =
      cause instanceof joseErrors.JWKSNoMatchingKey ? 'no key of the JWKS matches it' : 'the signature does not verify';
    throw new ReceiptInvalidError(`The receipt is not authentic: ${reason}.`, { cause });
  }
  const bound = options.request;
  if (bound) {
    for (const field of ['method', 'url', 'bodyHash'] as const) {
      const expected = bound[field];
      if (expected !== undefined && receipt.request[field] !== expected) {
        throw new ReceiptInvalidError(`The receipt was issued for another request (${field} differs).`, {
          details: { field, expected, actual: receipt.request[field] },
        });
      }
    }
  }
  if (options.issuer !== undefined && receipt.issuer !== options.issuer) {
    throw new ReceiptInvalidError(`The receipt was issued by ${receipt.issuer}, not ${options.issuer}.`);
  }
  return receipt;
}

/** Names the fields a malformed receipt lacks, then those it holds with a wrong value: `missing v, id, …; invalid amount`. */
function malformedFields(signed: unknown, issues: ReadonlyArray<{ path: PropertyKey[] }>): string {
  if (typeof signed !== 'object' || signed === null || Array.isArray(signed))
    return 'not a JSON object (expected a signed receipt)';
  const present = (path: PropertyKey[]): boolean => {
    let at: unknown = signed;
    for (const key of path) {
      if (typeof at !== 'object' || at === null || !(key in at)) return false;
      at = (at as Record<PropertyKey, unknown>)[key];
    }
    return at !== undefined;
  };
  const names = (list: Array<{ path: PropertyKey[] }>) =>
    [...new Set(list.map((i) => i.path.map(String).join('.') || '(root)'))].join(', ');
  const missing = issues.filter((i) => i.path.length > 0 && !present(i.path));
  const invalid = issues.filter((i) => !missing.includes(i));
  return [missing.length > 0 ? `missing ${names(missing)}` : '', invalid.length > 0 ? `invalid ${names(invalid)}` : '']
    .filter(Boolean)
    .join('; ');
}
