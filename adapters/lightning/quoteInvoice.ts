import { createHash } from 'node:crypto';
import { createInvoice, type AuthenticatedLnd } from 'ln-service';
import { ConfigurationError, RailUnavailableError, type PaymentRequirements, type PriceOffer, type QuoteContext } from '../../src/index';
import { LIGHTNING_RAIL_ID } from './invoiceState';
import { lndFailureOf } from './lndErrors';
import { DEFAULT_NODE_TIMEOUT_MS, withinNodeTimeout } from './nodeTimeout';
import type { LightningServerConfig } from './serverParameters';
import { mintL402Macaroon } from './token';

/**
 * The description hash that binds an invoice to the request it pays for: SHA-256 of `"<METHOD> <url>"`.
 *
 * @example requestDescriptionHash({ method: 'GET', url: 'https://api.example/report' })
 */
export function requestDescriptionHash(request: { method: string; url: string }): string {
  return createHash('sha256').update(`${request.method.toUpperCase()} ${request.url}`, 'utf8').digest('hex');
}

/**
 * A fresh invoice and L402 macaroon for one challenge, as an x402 `exact` offer in msat.
 * Throws RailUnavailableError when the node cannot make the invoice.
 */
export async function quoteInvoice(
  config: LightningServerConfig,
  nodeKey: () => Promise<string>,
  offer: PriceOffer,
  ctx: QuoteContext,
): Promise<PaymentRequirements> {
  const amount = BigInt(offer.amount);
  if (amount <= 0n) throw new ConfigurationError(`A Lightning offer needs a positive amount in msat, got ${amount}.`);
  if (offer.asset !== undefined && offer.asset !== 'msat') throw new ConfigurationError(`Lightning offers are priced in msat, not ${offer.asset}.`);
  const maxTimeoutSeconds = offer.maxTimeoutSeconds ?? config.invoiceExpirySeconds;
  const payTo = await nodeKey();
  let invoice: { id: string; request: string };
  try {
    invoice = await withinNodeTimeout(
      createInvoice({
        lnd: config.lnd,
        mtokens: amount.toString(),
        description_hash: requestDescriptionHash(ctx.request),
        // The node's clock, not the paywall's: the invoice expires on the node.
        expires_at: new Date(Date.now() + maxTimeoutSeconds * 1000).toISOString(),
      }),
      config.rpcTimeoutMs,
      'AddInvoice',
    );
  } catch (error) {
    throw new RailUnavailableError('The Lightning node could not create an invoice; try again shortly.', {
      rail: LIGHTNING_RAIL_ID,
      details: { lnd: lndFailureOf(error).name },
      cause: error,
    });
  }
  const token = mintL402Macaroon({
    rootKey: config.rootKey,
    paymentHash: invoice.id,
    serviceName: config.serviceName,
    path: new URL(ctx.request.url).pathname,
    method: ctx.request.method.toUpperCase(),
    amountMsat: amount.toString(),
    validUntil: Math.floor(ctx.now / 1000) + config.tokenLifetimeSeconds,
  });
  return {
    scheme: 'exact',
    network: config.network,
    amount: amount.toString(),
    asset: 'msat',
    payTo,
    maxTimeoutSeconds,
    extra: { ...offer.extra, invoice: invoice.request, macaroon: token.base64, paymentHash: invoice.id },
  };
}

/**
 * A cached lookup of the node's public key (ln-service `getWalletInfo`); a failure (or no answer within
 * `timeoutMs`) is retried on the next call.
 */
export function nodeKeyOf(lnd: AuthenticatedLnd, getKey: (lnd: AuthenticatedLnd) => Promise<string>, timeoutMs = DEFAULT_NODE_TIMEOUT_MS): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= withinNodeTimeout(getKey(lnd), timeoutMs, 'GetInfo').catch((error: unknown) => {
      cached = undefined;
      throw new RailUnavailableError('The Lightning node did not answer GetInfo; try again shortly.', {
        rail: LIGHTNING_RAIL_ID,
        details: { lnd: lndFailureOf(error).name },
        cause: error,
      });
    });
    return cached;
  };
}
