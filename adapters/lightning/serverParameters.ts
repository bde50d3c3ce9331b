import type { AuthenticatedLnd } from 'ln-service';
import { ConfigurationError, bitcoinNetworks, isCaipNetwork, type CaipNetwork } from '../../src/index';
import { DEFAULT_NODE_TIMEOUT_MS } from './nodeTimeout';

/** Parameters of {@link lightningServer}. */
export type LightningServerParameters = {
  /** ln-service `AuthenticatedLnd` of the node that is paid (needs invoices:read/write and info:read). */
  lnd: AuthenticatedLnd;
  /** Secret for macaroons, ≥ 32 bytes. Each token's key is HMAC(rootKey, tokenId), so nothing is stored. Never log it. */
  rootKey: Uint8Array;
  /** CAIP-2 network of the node (default regtest `bip122:0f9188f13cb7b2c71f2a335e3a4fc328`). */
  network?: string;
  /** Service name scoping the caveats (`services=<name>:0`, `<name>_route=…`); default `x402`. */
  serviceName?: string;
  /** Seconds an invoice (and the x402 offer) stays payable; default 600. An offer's `maxTimeoutSeconds` wins. */
  invoiceExpirySeconds?: number;
  /** Seconds a paid token may be reused on its route (its `valid_until` caveat); default 3600. */
  tokenLifetimeSeconds?: number;
  /** Also send an `LSAT` challenge in the same WWW-Authenticate header, for legacy clients (default false). */
  legacyLsatChallenge?: boolean;
  /** How long one call to the node may take before the paywall answers 503 (default 10,000 ms). */
  rpcTimeoutMs?: number;
  /**
   * Most unpaid invoices outstanding at once (made, neither paid nor expired; default 1,000). Every 402 needs an
   * invoice, so this bounds what a flood of unpaid requests adds to the node's invoice store per invoice lifetime.
   * When it is reached the Lightning offer is left out of new 402s (the route's other rails are still offered; a
   * Lightning-only route answers 503 with Retry-After) until invoices are paid or expire. Size it to the challenges
   * you expect per `invoiceExpirySeconds`.
   */
  maxOutstandingInvoices?: number;
  /** Invoices made ahead per price and request once that request comes back, so its 402 makes no node call (default 2; 0: none). */
  readyInvoices?: number;
};

/** {@link LightningServerParameters} with defaults applied. */
export type LightningServerConfig = Required<Omit<LightningServerParameters, 'lnd' | 'rootKey' | 'network'>> &
  Pick<LightningServerParameters, 'lnd' | 'rootKey'> & { network: CaipNetwork };

/** Applies defaults and checks the configuration (throws ConfigurationError). */
export function lightningServerConfig(p: LightningServerParameters): LightningServerConfig {
  if (!(p.rootKey instanceof Uint8Array) || p.rootKey.length < 32)
    throw new ConfigurationError('lightningServer: rootKey must be at least 32 secret bytes.');
  const serviceName = p.serviceName ?? 'x402';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(serviceName))
    throw new ConfigurationError('lightningServer: serviceName must be 1-63 lower-case letters, digits or dashes.');
  const invoiceExpirySeconds = p.invoiceExpirySeconds ?? 600;
  const tokenLifetimeSeconds = p.tokenLifetimeSeconds ?? 3600;
  if (!Number.isInteger(invoiceExpirySeconds) || invoiceExpirySeconds < 1)
    throw new ConfigurationError('lightningServer: invoiceExpirySeconds must be a positive integer.');
  if (!Number.isInteger(tokenLifetimeSeconds) || tokenLifetimeSeconds < 1)
    throw new ConfigurationError('lightningServer: tokenLifetimeSeconds must be a positive integer.');
  const rpcTimeoutMs = p.rpcTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  if (!Number.isInteger(rpcTimeoutMs) || rpcTimeoutMs < 1)
    throw new ConfigurationError('lightningServer: rpcTimeoutMs must be a positive integer.');
  const maxOutstandingInvoices = p.maxOutstandingInvoices ?? 1_000;
  const readyInvoices = p.readyInvoices ?? 2;
  if (!Number.isInteger(maxOutstandingInvoices) || maxOutstandingInvoices < 1)
    throw new ConfigurationError('lightningServer: maxOutstandingInvoices must be a positive integer.');
  if (!Number.isInteger(readyInvoices) || readyInvoices < 0 || readyInvoices > maxOutstandingInvoices) {
    throw new ConfigurationError('lightningServer: readyInvoices must be an integer from 0 to maxOutstandingInvoices.');
  }
  const network = p.network ?? bitcoinNetworks.regtest;
  if (!isCaipNetwork(network) || !network.startsWith('bip122:'))
    throw new ConfigurationError(`lightningServer: network must be a CAIP-2 bip122 id, got "${network}".`);
  return {
    lnd: p.lnd,
    rootKey: p.rootKey,
    network,
    serviceName,
    invoiceExpirySeconds,
    tokenLifetimeSeconds,
    legacyLsatChallenge: p.legacyLsatChallenge ?? false,
    rpcTimeoutMs,
    maxOutstandingInvoices,
    readyInvoices,
  };
}
