/**
 * Standard x402 extensions for the paywall and the client: `payment-identifier` (idempotent retries),
 * `offer-receipt` (signed offers and receipts),
 * `bazaar` and `discover()` (discovery).
 */
export { paymentIdentifier, IDEMPOTENT_REPLAY_HEADER, type PaymentIdentifierOptions } from './paymentIdentifier';
export {
  createMemoryIdempotencyStore,
  type IdempotencyStore,
  type IdempotencyEntry,
  type CachedResponse,
} from './idempotencyStore';
export {
  createSqliteIdempotencyStore,
  type SqliteIdempotencyStore,
  type SqliteIdempotencyStoreParameters,
} from './sqliteIdempotencyStore';
export { createRedisIdempotencyStore, type RedisIdempotencyStoreParameters } from './redisIdempotencyStore';
export {
  createPostgresIdempotencyStore,
  type PostgresIdempotencyStore,
  type PostgresIdempotencyStoreParameters,
} from './postgresIdempotencyStore';
export {
  PAYMENT_IDENTIFIER,
  PAYMENT_ID,
  paymentIdentifierSchema,
  declarePaymentIdentifier,
  paymentIdentifierOf,
  paymentIdentifierFor,
} from './paymentIdentifierWire';
export { offerReceipt, type OfferReceiptOptions } from './offerReceipt';
export {
  OFFER_RECEIPT,
  offerReceiptTypes,
  didJwk,
  signEip712,
  type OfferPayload,
  type ReceiptPayload,
  type SignedArtifact,
  type SignTypedData,
} from './offerReceiptWire';
export {
  bazaar,
  discover,
  DISCOVERY_PATHS,
  DiscoveryManifestSchema,
  DiscoveryItemSchema,
  bazaarExtension,
  type DiscoveryManifest,
  type DiscoveryItem,
  type RouteDiscovery,
} from '../discovery/index';
