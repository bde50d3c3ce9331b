import { lightningMppChargeServer } from './mppCharge';
import type { MppServerRail } from '../../src/index';
import { getWalletInfo } from 'ln-service';
import {
  MalformedInputError,
  PaymentInvalidError,
  errorCodes,
  type AuthorizationPayment,
  type AuthorizationRail,
  type ChallengeHeadersRail,
  type PaymentContext,
  type PaymentRequirements,
  type RailPayload,
  type ReusablePaymentRail,
  type SettleResult,
  type VerifyResult,
} from '../../src/index';
import { formatL402Challenge, parseL402Authorization } from '../../src/protocol/l402';
import {
  MacaroonFormatError,
  firstPartyCaveats,
  macaroonFromBase64,
  verifyMacaroonSignature,
  type Macaroon,
} from '../../src/protocol/macaroon';
import { l402CaveatValues } from './caveats';
import { decodeL402Identifier } from './identifier';
import { LIGHTNING_RAIL_ID, invoiceProblem, readInvoiceState, type InvoiceState } from './invoiceState';
import { parseLightningPayload } from './payload';
import { invoicePool, type InvoicePoolStats } from './invoicePool';
import { nodeKeyOf, quoteInvoice } from './quoteInvoice';
import { lightningServerConfig, type LightningServerParameters } from './serverParameters';
import { deriveTokenRootKey, verifyL402Token } from './token';
import { readInvoiceStatus } from './invoiceStatus';
import type { InvoiceStatusSource } from '../../src/paywall-ui/invoiceStatus';

/** The server rail: x402 server half plus the L402 powers (challenge header, Authorization scheme, reusable tokens). */
export type LightningServerRail = ChallengeHeadersRail &
  MppServerRail &
  AuthorizationRail &
  ReusablePaymentRail &
  InvoiceStatusSource & {
    /** The invoice pool's state (outstanding against the cap, made ahead, refused), for a status page. */
    invoices(): InvoicePoolStats;
  };

/** Settled invoices remembered (a settled invoice is final), so reused tokens skip the node lookup. */
const SETTLED_CACHE_SIZE = 10_000;
const HEX32 = /^[0-9a-f]{64}$/;

function decodeMacaroon(text: string): Macaroon | undefined {
  try {
    return macaroonFromBase64(text);
  } catch (error) {
    if (error instanceof MacaroonFormatError) return undefined;
    throw error;
  }
}

/**
 * Server rail for Lightning (id `lightning-l402`): x402 `exact` offers in msat on `bip122:*` that carry a
 * fresh BOLT11 invoice (its description hash binds the request) and an L402 macaroon, plus
 * `WWW-Authenticate: L402 …` on the 402 and `Authorization: L402 <macaroon>:<preimage>` on the retry, so
 * plain L402 clients are served too. verify checks the macaroon (signature with the key derived from
 * `rootKey`, route, method, amount, expiry), the preimage, and that the invoice is settled on our node for
 * the full amount; settle confirms the invoice (the money moved when the client paid) and is idempotent.
 * Reason codes: `invalid_payload`, `invalid_macaroon`, `caveat_failed`, `macaroon_expired`,
 * `invalid_preimage`, `invoice_unpaid`, `invoice_underpaid`, `invoice_expired`, `invoice_unknown`,
 * `network_mismatch`. A node that cannot answer, or not within `rpcTimeoutMs` → RailUnavailableError (503).
 * Unpaid requests cost the node at most `maxOutstandingInvoices` invoices outstanding (see `invoicePool`): past
 * it the Lightning offer is left out of the 402 (503 on a Lightning-only route) until invoices are paid or expire.
 *
 * @example
 * const ln = lightningServer({ lnd, rootKey: randomBytes(32) });
 * const pw = paywall({ 'GET /report': { accepts: [{ rail: 'lightning-l402', amount: 21_000n }] } }, { rails: [ln], signer });
 */
export function lightningServer(parameters: LightningServerParameters): LightningServerRail {
  const config = lightningServerConfig(parameters);
  const nodeKey = nodeKeyOf(config.lnd, async (lnd) => (await getWalletInfo({ lnd })).public_key, config.rpcTimeoutMs);
  const settled = new Map<string, bigint>();
  const pool = invoicePool({ maxOutstanding: config.maxOutstandingInvoices, ready: config.readyInvoices });

  async function invoiceState(paymentHash: string, now: number): Promise<InvoiceState> {
    const known = settled.get(paymentHash);
    if (known !== undefined) return { state: 'settled', receivedMsat: known };
    const state = await readInvoiceState(config.lnd, paymentHash, now, config.rpcTimeoutMs);
    if (state.state === 'settled') {
      pool.paid(paymentHash);
      if (settled.size >= SETTLED_CACHE_SIZE) settled.delete(settled.keys().next().value ?? '');
      settled.set(paymentHash, state.receivedMsat);
    }
    return state;
  }

  /** The macaroon a payment presents (its own, else the offer's) and the payment hash it is for. */
  function tokenOf(
    payload: RailPayload,
    req: PaymentRequirements,
  ): { preimage: string; macaroon: Macaroon | undefined; macaroonText: string | undefined } {
    const parsed = parseLightningPayload(payload);
    const offered = typeof req.extra.macaroon === 'string' ? req.extra.macaroon : undefined;
    const macaroonText = parsed.macaroon ?? offered;
    return {
      preimage: parsed.preimage,
      macaroonText,
      macaroon: macaroonText === undefined ? undefined : decodeMacaroon(macaroonText),
    };
  }

  function offerProblem(req: PaymentRequirements): { reason: string; message: string } | undefined {
    if (req.network !== config.network)
      return { reason: 'network_mismatch', message: `This server's node is on ${config.network}, not ${req.network}.` };
    if (req.asset !== 'msat' || req.scheme !== 'exact')
      return { reason: 'invalid_requirements', message: 'A Lightning offer is `exact` in msat.' };
    return undefined;
  }

  async function verify(payload: RailPayload, req: PaymentRequirements, ctx: PaymentContext): Promise<VerifyResult> {
    const invalid = (reason: string, message: string): VerifyResult => ({ isValid: false, reason, message, payer: '' });
    let token: ReturnType<typeof tokenOf>;
    try {
      token = tokenOf(payload, req);
    } catch (error) {
      if (error instanceof PaymentInvalidError) return invalid(error.reason, error.message);
      throw error;
    }
    const offer = offerProblem(req);
    if (offer) return invalid(offer.reason, offer.message);
    if (!token.macaroon) return invalid('invalid_macaroon', 'The payment carries no well-formed L402 macaroon.');
    const paymentHash = typeof req.extra.paymentHash === 'string' ? req.extra.paymentHash : undefined;
    const url = new URL(ctx.request.url);
    const checked = verifyL402Token({
      rootKey: config.rootKey,
      macaroon: token.macaroon,
      preimage: token.preimage,
      ...(paymentHash === undefined ? {} : { paymentHash }),
      serviceName: config.serviceName,
      path: url.pathname,
      method: ctx.request.method.toUpperCase(),
      amountMsat: req.amount,
      nowSeconds: Math.floor(ctx.now / 1000),
    });
    if (!checked.ok) return invalid(checked.reason, checked.message);
    const problem = invoiceProblem(await invoiceState(checked.paymentHash, ctx.now), BigInt(req.amount));
    if (problem) return invalid(problem.reason, problem.message);
    return { isValid: true, payer: '', amount: req.amount };
  }

  return {
    id: LIGHTNING_RAIL_ID,
    // MPP `lightning`/`charge` (draft-lightning-charge-00): the same invoice, preimage proof and verify.
    mpp: lightningMppChargeServer(),
    authorizationSchemes: ['L402', 'LSAT'],
    reusablePayments: true,
    supports: (req) =>
      req.scheme === 'exact' &&
      req.network === config.network &&
      req.asset === 'msat' &&
      typeof req.extra.paymentHash === 'string',
    quote: (offer, ctx) => quoteInvoice(config, nodeKey, offer, ctx, pool),
    invoices: () => pool.stats(),
    // For the browser paywall page: the holder of one of our macaroons learns when its invoice was paid.
    invoiceStatus: (macaroon, now) =>
      readInvoiceStatus({ lnd: config.lnd, rootKey: config.rootKey, macaroon, now, timeoutMs: config.rpcTimeoutMs }),

    challengeHeaders(req): Record<string, string> {
      const { invoice, macaroon } = req.extra;
      if (typeof invoice !== 'string' || typeof macaroon !== 'string') return {};
      const l402 = formatL402Challenge({ macaroon, invoice });
      return {
        'WWW-Authenticate': config.legacyLsatChallenge
          ? `${l402}, ${formatL402Challenge({ macaroon, invoice }, 'LSAT')}`
          : l402,
      };
    },

    paymentId(payload, req) {
      const { macaroon, macaroonText } = tokenOf(payload, req);
      if (macaroonText !== undefined) {
        const id = macaroon && decodeL402Identifier(macaroon.identifier);
        if (!id) throw new PaymentInvalidError('invalid_macaroon', 'The macaroon is not a well-formed L402 macaroon.');
        return id.paymentHash;
      }
      const hash = req.extra.paymentHash;
      if (typeof hash !== 'string' || !HEX32.test(hash))
        throw new PaymentInvalidError(
          'invalid_payload',
          'The payment names no macaroon and the offer no payment hash.',
        );
      return hash;
    },

    verify,

    async settle(payload, req, ctx): Promise<SettleResult> {
      const verified = await verify(payload, req, ctx);
      if (!verified.isValid) return { status: 'failed', reason: verified.reason, message: verified.message };
      const { preimage, macaroon } = tokenOf(payload, req);
      const id = macaroon && decodeL402Identifier(macaroon.identifier);
      if (!id)
        return {
          status: 'failed',
          reason: 'invalid_macaroon',
          message: 'The macaroon is not a well-formed L402 macaroon.',
        };
      return { status: 'settled', reference: id.paymentHash, payer: '', amount: req.amount, proof: preimage };
    },

    async readAuthorization(header): Promise<AuthorizationPayment> {
      const credential = parseL402Authorization(header);
      const macaroonText = credential.macaroons[0] ?? '';
      let macaroon: Macaroon;
      try {
        macaroon = macaroonFromBase64(macaroonText);
      } catch (error) {
        if (!(error instanceof MacaroonFormatError)) throw error;
        throw new MalformedInputError(errorCodes.HEADER_SCHEMA, `The L402 macaroon is malformed: ${error.message}`, {
          details: { header: 'Authorization', reason: error.code },
          cause: error,
        });
      }
      const id = decodeL402Identifier(macaroon.identifier);
      if (!id || !verifyMacaroonSignature(macaroon, deriveTokenRootKey(config.rootKey, id.tokenId))) {
        return {
          reason: 'invalid_macaroon',
          message: 'The L402 macaroon was not issued by this server or was altered.',
        };
      }
      const amount = l402CaveatValues(firstPartyCaveats(macaroon), config.serviceName).amount_msat;
      if (amount === undefined || !/^[1-9][0-9]{0,20}$/.test(amount))
        return { reason: 'caveat_failed', message: 'The L402 macaroon names no price.' };
      const accepted: PaymentRequirements = {
        scheme: 'exact',
        network: config.network,
        amount,
        asset: 'msat',
        payTo: await nodeKey(),
        maxTimeoutSeconds: config.invoiceExpirySeconds,
        extra: { paymentHash: id.paymentHash, macaroon: macaroonText },
      };
      return { accepted, payload: { preimage: credential.preimage, macaroon: macaroonText }, challengeId: id.tokenId };
    },
  };
}
