/**
 * Standard x402 extensions for the paywall and the client: `payment-identifier` (idempotent retries).
 */
export { paymentIdentifier, IDEMPOTENT_REPLAY_HEADER, type PaymentIdentifierOptions } from './paymentIdentifier';
export { createMemoryIdempotencyStore, type IdempotencyStore, type IdempotencyEntry, type CachedResponse } from './idempotencyStore';
export { PAYMENT_IDENTIFIER, PAYMENT_ID, paymentIdentifierSchema, declarePaymentIdentifier, paymentIdentifierOf, paymentIdentifierFor } from './paymentIdentifierWire';
