/**
 * The x402 `offer-receipt` extension on the wire (specs/extensions/extension-offer-and-receipt.md): signed offers in
 * `PaymentRequired.extensions["offer-receipt"].info.offers[]` (one per `accepts` entry) and a signed receipt in
 * `SettleResponse.extensions["offer-receipt"].info.receipt`, each as `{ format: "jws", signature }` (compact JWS of
 * the payload) or `{ format: "eip712", payload, signature }` (EIP-712, domain `{ name, version: "1", chainId: 1 }`).
 */

/** Extension key. */
export const OFFER_RECEIPT = 'offer-receipt';

/** What a signed offer commits to. `validUntil` is unix seconds (0: no expiry). */
export type OfferPayload = {
  version: 1;
  resourceUrl: string;
  scheme: string;
  network: string;
  asset: string;
  payTo: string;
  amount: string;
  validUntil: number;
};

/** What a signed receipt states. `issuedAt` is unix seconds; `transaction` the settlement reference. */
export type ReceiptPayload = {
  version: 1;
  network: string;
  resourceUrl: string;
  payer: string;
  issuedAt: number;
  transaction: string;
};

/** A signed offer or receipt, in either form. `acceptIndex` (offers only) is an unsigned hint into `accepts`. */
export type SignedArtifact<P> =
  | { format: 'jws'; signature: string; acceptIndex?: number }
  | { format: 'eip712'; payload: P; signature: string; acceptIndex?: number };

/** The EIP-712 typed-data signer of an EVM account (viem's `account.signTypedData`). */
export type SignTypedData = (parameters: {
  domain: { name: string; version: string; chainId: number };
  types: Record<string, ReadonlyArray<{ name: string; type: string }>>;
  primaryType: string;
  message: Record<string, unknown>;
}) => Promise<`0x${string}`>;

/** The normative EIP-712 types of the spec (§4.3, §5.3); never sent on the wire. */
export const offerReceiptTypes = {
  Offer: [
    { name: 'version', type: 'uint256' },
    { name: 'resourceUrl', type: 'string' },
    { name: 'scheme', type: 'string' },
    { name: 'network', type: 'string' },
    { name: 'asset', type: 'string' },
    { name: 'payTo', type: 'string' },
    { name: 'amount', type: 'string' },
    { name: 'validUntil', type: 'uint256' },
  ],
  Receipt: [
    { name: 'version', type: 'uint256' },
    { name: 'network', type: 'string' },
    { name: 'resourceUrl', type: 'string' },
    { name: 'payer', type: 'string' },
    { name: 'issuedAt', type: 'uint256' },
    { name: 'transaction', type: 'string' },
  ],
} as const;

/** Signs an offer or receipt payload as EIP-712 with the spec's domain and types. */
export async function signEip712<P extends OfferPayload | ReceiptPayload>(
  kind: 'Offer' | 'Receipt',
  payload: P,
  signTypedData: SignTypedData,
): Promise<SignedArtifact<P>> {
  const message = Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [k, typeof v === 'number' ? BigInt(v) : v]),
  );
  const signature = await signTypedData({
    domain: { name: kind === 'Offer' ? 'x402 offer' : 'x402 receipt', version: '1', chainId: 1 },
    types: { [kind]: offerReceiptTypes[kind] },
    primaryType: kind,
    message,
  });
  return { format: 'eip712', payload, signature };
}

/**
 * The `did:jwk` key id of a public JWK: the key itself, so a verifier needs no lookup to check the signature. That
 * the key speaks for the issuer is shown by the issuer's JWKS at `/.well-known/x402-rails/jwks.json`, which lists it.
 *
 * @example didJwk(signer.publicJwk) // 'did:jwk:eyJjcnYiOiJFZDI1NTE5Ii…#0'
 */
export function didJwk(publicJwk: { kty?: string; crv?: string; x?: string }): string {
  const json = JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x });
  return `did:jwk:${Buffer.from(json).toString('base64url')}#0`;
}
