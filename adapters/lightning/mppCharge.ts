import { z } from 'zod';
import {
  ConfigurationError,
  bitcoinNetworks,
  type CaipNetwork,
  type MppClientMethod,
  type MppServerMethod,
  type PaymentRequirements,
} from '../../src/index';
import { payInvoice } from './payInvoice';
import { isLightningWallet } from './wallet';
import type { LightningClientParameters } from './client';

/**
 * The MPP `lightning` payment method, `charge` intent, per the Lightning charge draft (draft-lightning-charge-00):
 * request `{amount (sat), currency: "sat", recipient?, methodDetails: {invoice, paymentHash, network}}`, payload
 * `{preimage}` (64 lower-case hex). The invoice and its payment hash are the offer's; the rail's verify checks
 * the preimage against the invoice (and the L402 macaroon the offer carries) exactly as for x402 and L402.
 */

/** The draft's network names and the CAIP-2 ids of those networks. */
const NETWORKS: Record<'mainnet' | 'regtest' | 'signet', CaipNetwork> = {
  mainnet: bitcoinNetworks.mainnet,
  regtest: bitcoinNetworks.regtest,
  signet: 'bip122:00000008819873e925422c1ff0f99f7c',
};
const nameOf = (caip: string) => (Object.keys(NETWORKS) as (keyof typeof NETWORKS)[]).find((n) => NETWORKS[n] === caip);

const HEX32 = /^[0-9a-f]{64}$/;

/** The server half for the Lightning rail: `lightning`/`charge` for its offers priced in whole satoshis. */
export function lightningMppChargeServer(): MppServerMethod {
  return {
    method: 'lightning',
    intent: 'charge',
    // The draft: the server "MUST atomically mark the challenge as consumed" on success; "a challenge that has been
    // marked consumed MUST NOT be accepted again", and concurrent presentations of one preimage get exactly one
    // success. (The preimage is a bearer secret: a consumed credential must not buy anything more.)
    consumeOnce: true,
    request(offer: PaymentRequirements) {
      const { invoice, paymentHash } = offer.extra;
      const network = nameOf(offer.network);
      if (offer.asset !== 'msat' || typeof invoice !== 'string' || typeof paymentHash !== 'string' || !network)
        return undefined;
      const msat = BigInt(offer.amount);
      // The draft prices in satoshis: an offer with a fraction of one is not said in MPP.
      if (msat <= 0n || msat % 1000n !== 0n) return undefined;
      return {
        amount: (msat / 1000n).toString(),
        currency: 'sat',
        recipient: offer.payTo,
        methodDetails: { invoice, paymentHash, network },
      };
    },
    payload(credential, offer) {
      const preimage = credential.payload.preimage;
      if (typeof preimage !== 'string' || !HEX32.test(preimage.toLowerCase())) {
        return {
          reason: 'invalid_payload',
          message: 'The lightning charge credential needs payload.preimage, 64 hex characters.',
        };
      }
      const macaroon = offer.extra.macaroon;
      return { payload: { preimage: preimage.toLowerCase(), ...(typeof macaroon === 'string' ? { macaroon } : {}) } };
    },
  };
}

const RequestSchema = z.object({
  amount: z.string().regex(/^[1-9][0-9]{0,15}$/),
  currency: z.literal('sat'),
  recipient: z
    .string()
    .regex(/^(02|03)[0-9a-f]{64}$/)
    .optional(),
  methodDetails: z.looseObject({
    invoice: z
      .string()
      .regex(/^ln[a-z0-9]{8,}$/i)
      .max(8192),
    paymentHash: z.string().regex(HEX32).optional(),
    network: z.enum(['mainnet', 'regtest', 'signet']).optional(),
  }),
});

/**
 * The client half: reads a `lightning`/`charge` challenge as an `exact` msat offer (policy and budgets judge it
 * as any offer) and pays its invoice on the wallet's node, which decodes it and checks amount, payment hash and
 * payee (the request's `recipient`, when it names one) before paying; the credential is the preimage.
 */
export function lightningMppChargeClient(parameters: LightningClientParameters = {}): MppClientMethod {
  return {
    method: 'lightning',
    intent: 'charge',
    offer(challenge) {
      const parsed = RequestSchema.safeParse(challenge.request);
      if (!parsed.success) return undefined;
      const r = parsed.data;
      const expires = challenge.expires === undefined ? undefined : Math.floor(Date.parse(challenge.expires) / 1000);
      return {
        scheme: 'exact',
        network: NETWORKS[r.methodDetails.network ?? 'mainnet'],
        amount: (BigInt(r.amount) * 1000n).toString(),
        asset: 'msat',
        payTo: r.recipient ?? '',
        maxTimeoutSeconds: expires === undefined ? 300 : Math.max(1, expires - Math.floor(Date.now() / 1000)),
        extra: {
          invoice: r.methodDetails.invoice.toLowerCase(),
          ...(r.methodDetails.paymentHash ? { paymentHash: r.methodDetails.paymentHash } : {}),
        },
      };
    },
    async createCredential(_challenge, offer, w, ctx) {
      if (!isLightningWallet(w))
        throw new ConfigurationError('The Lightning rail needs a wallet made by lightningWallet(lnd).');
      const { invoice, paymentHash } = offer.extra;
      if (typeof invoice !== 'string') throw new ConfigurationError('The lightning charge carries no invoice.');
      const { preimage } = await payInvoice({
        lnd: w.lnd,
        invoice,
        amountMsat: BigInt(offer.amount),
        ...(typeof paymentHash === 'string' ? { paymentHash } : {}),
        ...(offer.payTo !== '' ? { destination: offer.payTo } : {}),
        ...(parameters.maxFeeMsat === undefined ? {} : { maxFeeMsat: parameters.maxFeeMsat }),
        ...(parameters.maxAmountMsat === undefined ? {} : { maxAmountMsat: parameters.maxAmountMsat }),
        now: ctx.now,
      });
      return { payload: { preimage } };
    },
  };
}
