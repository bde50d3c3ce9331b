import { createHash } from 'node:crypto';
import { createInvoice, type AuthenticatedLnd } from 'ln-service';
import {
  ConfigurationError,
  RailUnavailableError,
  type PaymentRequirements,
  type PriceOffer,
  type QuoteContext,
} from '../../src/index';
import { LIGHTNING_RAIL_ID } from './invoiceState';
import { lndFailureOf } from './lndErrors';
import { DEFAULT_NODE_TIMEOUT_MS, withinNodeTimeout } from './nodeTimeout';
import type { LightningServerConfig } from './serverParameters';
import type { InvoicePool, MadeInvoice } from './invoicePool';
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
 * An invoice and a fresh L402 macaroon for one challenge, as an x402 `exact` offer in msat. The invoice comes from
 * `pool` (made ahead when the same price and request came before, else made now) and is handed to this challenge
 * only; the offer's `maxTimeoutSeconds` is what is left of its life. Throws RailUnavailableError when the node
 * cannot make the invoice, InvoiceCapReachedError (503) when the server's cap of unpaid invoices is reached.
 */
export async function quoteInvoice(
  config: LightningServerConfig,
  nodeKey: () => Promise<string>,
  offer: PriceOffer,
  ctx: QuoteContext,
  pool: InvoicePool,
): Promise<PaymentRequirements> {
  const amount = BigInt(offer.amount);
  if (amount <= 0n) throw new ConfigurationError(`A Lightning offer needs a positive amount in msat, got ${amount}.`);
  if (offer.asset !== undefined && offer.asset !== 'msat')
    throw new ConfigurationError(`Lightning offers are priced in msat, not ${offer.asset}.`);
  const lifetimeSeconds = offer.maxTimeoutSeconds ?? config.invoiceExpirySeconds;
  const payTo = await nodeKey();
  const descriptionHash = requestDescriptionHash(ctx.request);
  const invoice = await pool.take(`${amount}|${lifetimeSeconds}|${descriptionHash}`, () =>
    makeInvoice(config, amount, descriptionHash, lifetimeSeconds),
  );
  // The node's clock, not the paywall's: the invoice expires on the node. A fresh invoice offers its whole life.
  const left = Math.floor((invoice.expiresAtMs - Date.now()) / 1000);
  const maxTimeoutSeconds = Math.max(
    1,
    Math.min(lifetimeSeconds, left >= lifetimeSeconds - 1 ? lifetimeSeconds : left),
  );
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

/** Makes one invoice on the node (ln-service `createInvoice`), bound to the request by its description hash. */
async function makeInvoice(
  config: LightningServerConfig,
  amount: bigint,
  descriptionHash: string,
  lifetimeSeconds: number,
): Promise<MadeInvoice> {
  const madeAtMs = Date.now();
  const expiresAtMs = madeAtMs + lifetimeSeconds * 1000;
  try {
    const invoice = await withinNodeTimeout(
      createInvoice({
        lnd: config.lnd,
        mtokens: amount.toString(),
        description_hash: descriptionHash,
        expires_at: new Date(expiresAtMs).toISOString(),
      }),
      config.rpcTimeoutMs,
      'AddInvoice',
    );
    return { id: invoice.id, request: invoice.request, madeAtMs, expiresAtMs };
  } catch (error) {
    throw new RailUnavailableError('The Lightning node could not create an invoice; try again shortly.', {
      rail: LIGHTNING_RAIL_ID,
      details: { lnd: lndFailureOf(error).name },
      cause: error,
    });
  }
}

/**
 * A cached lookup of the node's public key (ln-service `getWalletInfo`); a failure (or no answer within
 * `timeoutMs`) is retried on the next call.
 */
export function nodeKeyOf(
  lnd: AuthenticatedLnd,
  getKey: (lnd: AuthenticatedLnd) => Promise<string>,
  timeoutMs = DEFAULT_NODE_TIMEOUT_MS,
): () => Promise<string> {
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
