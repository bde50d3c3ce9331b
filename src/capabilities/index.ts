/**
 * x402-rails/capabilities: capability credentials. One settled payment buys a signed token (JWS, or a
 * macaroon on Lightning) that authorizes many calls within limits (scope, calls, amount, rate, expiry),
 * checked against a store (memory, SQLite, Redis) and revocable by id.
 */
export { capabilities, type Capabilities, type CapabilitiesOptions, type AdmitRefusal } from './capabilities';
export { CapabilityClaimsSchema, type CapabilityClaims } from './capabilityClaims';
export type { CapabilityGrant } from './capabilityGrant';
export { capabilityHeaders } from './capabilityHeaders';
export type { CapabilityStore, CapabilityRecord, CapabilityUse, ConsumeResult } from './capabilityStore';
export type { CapabilityToken, CapabilityRefusal, ReadCapabilityResult } from './capabilityToken';
export { capabilityTokenByRail, type CapabilityTokenByRailParameters } from './capabilityTokenByRail';
export { createMemoryCapabilityStore, type MemoryCapabilityStoreOptions } from './memoryCapabilityStore';
export {
  createSqliteCapabilityStore,
  type SqliteCapabilityStore,
  type SqliteCapabilityStoreParameters,
} from './sqliteCapabilityStore';
export { createRedisCapabilityStore, type RedisCapabilityStoreParameters } from './redisCapabilityStore';
export {
  createPostgresCapabilityStore,
  type PostgresCapabilityStore,
  type PostgresCapabilityStoreParameters,
} from './postgresCapabilityStore';
export {
  jwsCapabilityToken,
  peekJwsCapabilityClaims,
  CAPABILITY_JWS_TYPE,
  type JwsCapabilityToken,
  type JwsCapabilityTokenParameters,
} from './jwsCapabilityToken';
export {
  macaroonCapabilityToken,
  peekMacaroonCapabilityClaims,
  type MacaroonCapabilityTokenParameters,
} from './macaroonCapabilityToken';
export { CAPABILITY_MACAROON_LOCATION } from './macaroonCapabilityCaveats';
export { peekCapabilityClaims } from './peekCapabilityClaims';
export {
  createCapabilityWallet,
  type CapabilityWallet,
  type CapabilityWalletOptions,
  type HeldCapability,
} from '../client/capabilityWallet';
