/**
 * x402-rails/lightning: the Lightning rail (ln-service + macaroons). x402 `exact` offers in msat on
 * `bip122:*` carrying a BOLT11 invoice and an L402 macaroon, and plain L402 (`WWW-Authenticate` /
 * `Authorization: L402 <macaroon>:<preimage>`) on the same paywall.
 */
export { lightningServer, type LightningServerRail } from './server';
export type { LightningServerParameters } from './serverParameters';
export { lightningClient, type LightningClientParameters } from './client';
export { lightningMppChargeServer, lightningMppChargeClient } from './mppCharge';
export { lightningWallet, isLightningWallet, type LightningWallet } from './wallet';
export { l402Fetch, type L402FetchOptions } from './l402Fetch';
export {
  payInvoice,
  defaultMaxFeeMsat,
  type PayInvoiceParameters,
  type PayInvoiceReturnType,
  type PayInvoiceFailureReason,
} from './payInvoice';
export { LightningPayloadSchema, type LightningPayload } from './payload';
export { requestDescriptionHash } from './quoteInvoice';
export {
  mintL402Macaroon,
  verifyL402Token,
  deriveTokenRootKey,
  type MintL402MacaroonParameters,
  type MintL402MacaroonReturnType,
  type VerifyL402TokenParameters,
  type VerifyL402TokenReturnType,
} from './token';
export {
  l402Caveats,
  checkL402Caveats,
  l402CaveatValues,
  type L402CaveatContext,
  type L402Grant,
  type L402CaveatFailure,
} from './caveats';
export { encodeL402Identifier, decodeL402Identifier, L402_IDENTIFIER_LENGTH, type L402Identifier } from './identifier';
export { LIGHTNING_RAIL_ID, type InvoiceState } from './invoiceState';
export { InvoiceCapReachedError, type InvoicePoolStats } from './invoicePool';
export {
  parseL402Challenge,
  parseL402Challenges,
  parseL402Authorization,
  formatL402Challenge,
  formatL402Authorization,
  L402_SCHEMES,
  type L402Challenge,
  type L402Credential,
  type L402Scheme,
} from '../../src/protocol/l402';
export { lightningRefunder, type LightningRefunderParameters } from './lightningRefunder';
