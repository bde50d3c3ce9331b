import { ConfigurationError } from '../core/errors';
import type { ReceiptSigner } from '../core/receipt/signer';
import { decodePaymentResponseHeader, encodePaymentResponseHeader, headerNames } from '../protocol/headers';
import type { PaywallExtension } from '../server/extensions';
import {
  OFFER_RECEIPT,
  didJwk,
  signEip712,
  type OfferPayload,
  type ReceiptPayload,
  type SignTypedData,
  type SignedArtifact,
} from './offerReceiptWire';

/** Options of {@link offerReceipt}. */
export type OfferReceiptOptions =
  | {
      /** Compact JWS (EdDSA) signed with the paywall's receipt key, `kid` its `did:jwk`. */
      format: 'jws';
      signer: ReceiptSigner;
      /** Seconds a signed offer is valid (default: the offer's `maxTimeoutSeconds`). */
      offerValiditySeconds?: number;
    }
  | {
      /** EIP-712, signed by an EVM account (`account.signTypedData` of viem); verifiers recover its address. */
      format: 'eip712';
      signTypedData: SignTypedData;
      offerValiditySeconds?: number;
    };

/**
 * The x402 `offer-receipt` extension for a paywall: every 402 carries one signed offer per `accepts` entry (the
 * terms the client is offered, provable later), and every paid answer a signed standard receipt in PAYMENT-RESPONSE
 * `extensions["offer-receipt"].info.receipt`, beside our richer signed receipt (`extensions["x402-rails/receipt"]`).
 *
 * How the two receipts relate: both are signed by the issuer and state the same payment. The standard one carries
 * `network`, `resourceUrl` (= our `request.url`), `payer` and `transaction` (= our `reference`); ours adds the rail,
 * asset, amount, payee, proof, request method and body hash, the requirements hash and the challenge. In the `jws`
 * form one key signs both (the receipt signer's Ed25519 key; `kid` is its `did:jwk`, listed in the issuer's JWKS); in
 * the `eip712` form the EVM account signs the standard artifacts and the receipt key ours.
 *
 * @example paywall(routes, { rails, signer, issuer, extensions: [offerReceipt({ format: 'jws', signer })] })
 */
export function offerReceipt(options: OfferReceiptOptions): PaywallExtension {
  const sign = signerOf(options);
  return {
    name: 'offer-receipt',
    async declare(ctx) {
      const offers = await Promise.all(
        ctx.accepts.map(async (offer, acceptIndex) => {
          const validity = options.offerValiditySeconds ?? offer.maxTimeoutSeconds;
          const payload: OfferPayload = {
            version: 1,
            resourceUrl: ctx.resource.url,
            scheme: offer.scheme,
            network: offer.network,
            asset: offer.asset,
            payTo: offer.payTo,
            amount: offer.amount,
            validUntil: Math.floor(ctx.now / 1000) + validity,
          };
          return { ...(await sign('Offer', payload)), acceptIndex };
        }),
      );
      return { [OFFER_RECEIPT]: { info: { offers } } };
    },
    async afterPaid(ctx) {
      const header = ctx.response.headers.get(headerNames.paymentResponse);
      if (header === null) return ctx.response;
      const settle = decodePaymentResponseHeader(header);
      const payload: ReceiptPayload = {
        version: 1,
        network: ctx.receipt.network,
        resourceUrl: ctx.receipt.request.url,
        payer: ctx.receipt.payer,
        issuedAt: Math.floor(Date.parse(ctx.receipt.issuedAt) / 1000),
        transaction: ctx.receipt.reference,
      };
      const receipt = await sign('Receipt', payload);
      const headers = new Headers(ctx.response.headers);
      headers.set(
        headerNames.paymentResponse,
        encodePaymentResponseHeader({
          ...settle,
          extensions: { ...settle.extensions, [OFFER_RECEIPT]: { info: { receipt } } },
        }),
      );
      return new Response(ctx.response.body, {
        status: ctx.response.status,
        statusText: ctx.response.statusText,
        headers,
      });
    },
  };
}

type Sign = <P extends OfferPayload | ReceiptPayload>(
  kind: 'Offer' | 'Receipt',
  payload: P,
) => Promise<SignedArtifact<P>>;

function signerOf(options: OfferReceiptOptions): Sign {
  if (options.format === 'eip712') {
    if (typeof options.signTypedData !== 'function')
      throw new ConfigurationError('offerReceipt({ format: "eip712" }) needs signTypedData (an EVM account).');
    return (kind, payload) => signEip712(kind, payload, options.signTypedData);
  }
  const kid = didJwk(options.signer.publicJwk);
  return async (_kind, payload) => ({ format: 'jws', signature: await options.signer.signJws(payload, { kid }) });
}
