import { ed25519 } from '@noble/curves/ed25519';
import { base64url } from 'jose';
import { CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { ConfigurationError } from '../errors';
import { canonicalJson, sha256Base64Url } from '../canonical';
import type { Receipt, SignedReceipt } from './receipt';

/** A JSON Web Key Set, as published at the issuer's well-known path. */
export type ReceiptJwks = { keys: JWK[] };

/** Signs receipts; holds the private key, publishes the public one. */
export type ReceiptSigner = {
  /** Key id, carried in every signature's protected header. */
  readonly kid: string;
  /** Signs a receipt (detached compact JWS over its canonical JSON). */
  sign(receipt: Receipt): Promise<SignedReceipt>;
  /** The public JWKS to publish. */
  jwks(): ReceiptJwks;
  /**
   * Signs `payload` (its canonical JSON) as an attached compact JWS with the same key (EdDSA), under the protected
   * header given (`kid` included); used for the standard x402 `offer-receipt` artifacts.
   */
  signJws(payload: object, header: { kid: string; typ?: string }): Promise<string>;
  /** The public key as a JWK (`kty`, `crv`, `x`), e.g. for a `did:jwk` key id. */
  readonly publicJwk: JWK;
};

/** Parameters of {@link createReceiptSigner}. */
export type CreateReceiptSignerParameters = {
  /** An Ed25519 private JWK (`kty: OKP`, `crv: Ed25519`, with `d`). Omit to generate an ephemeral key. */
  privateJwk?: JWK;
};

const JWS_TYPE = 'x402-receipt+jws';

/**
 * Creates the receipt signer of a server (EdDSA / Ed25519 via `jose`). Persist `privateJwk` to keep
 * receipts verifiable across restarts.
 *
 * @example
 * const signer = await createReceiptSigner({ privateJwk: JSON.parse(process.env.RECEIPT_KEY!) });
 */
export async function createReceiptSigner(parameters: CreateReceiptSignerParameters = {}): Promise<ReceiptSigner> {
  const privateJwk = parameters.privateJwk ?? (await generateReceiptKey());
  if (
    privateJwk.kty !== 'OKP' ||
    privateJwk.crv !== 'Ed25519' ||
    typeof privateJwk.d !== 'string' ||
    typeof privateJwk.x !== 'string'
  ) {
    throw new ConfigurationError(
      'The receipt key must be an Ed25519 private JWK (kty "OKP", crv "Ed25519", with "d" and "x").',
    );
  }
  const key = await importReceiptKey(privateJwk, privateJwk.d, privateJwk.x);
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, alg: 'EdDSA', use: 'sig' };
  const kid =
    privateJwk.kid ?? sha256Base64Url(canonicalJson({ crv: 'Ed25519', kty: 'OKP', x: privateJwk.x })).slice(0, 16);
  publicJwk.kid = kid;
  return {
    kid,
    async sign(receipt) {
      const jws = await new CompactSign(new TextEncoder().encode(canonicalJson(receipt)))
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: JWS_TYPE })
        .sign(key);
      const [header, , signature] = jws.split('.');
      return { ...receipt, signature: `${header}..${signature}` };
    },
    jwks: () => ({ keys: [publicJwk] }),
    signJws: (payload, header) =>
      new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
        .setProtectedHeader({ alg: 'EdDSA', ...header })
        .sign(key),
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x },
  };
}

/**
 * Imports the private key, refusing (as ConfigurationError, never echoing key material) a `d` that is not an
 * Ed25519 private key and an `x` that is not its public key: a mismatched `x` would publish a JWKS under which
 * none of this signer's receipts verify.
 */
async function importReceiptKey(privateJwk: JWK, d: string, x: string): Promise<Awaited<ReturnType<typeof importJWK>>> {
  let derivedX: unknown;
  try {
    const secret = base64url.decode(d);
    if (secret.length !== 32) throw new RangeError('not 32 bytes');
    derivedX = base64url.encode(ed25519.getPublicKey(secret));
  } catch {
    throw new ConfigurationError(
      'The receipt key is not a valid Ed25519 private JWK ("d" is not a 32-byte base64url key).',
    );
  }
  if (derivedX !== x) {
    throw new ConfigurationError(
      'The receipt key\'s "x" is not the public key of its "d"; export the JWK again from the private key.',
    );
  }
  return importJWK({ ...privateJwk, alg: 'EdDSA' }, 'EdDSA');
}

/** Generates a fresh Ed25519 private JWK for {@link createReceiptSigner}. Keep it secret. */
export async function generateReceiptKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return exportJWK(privateKey);
}
