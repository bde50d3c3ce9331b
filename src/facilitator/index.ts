/**
 * x402-rails/facilitator: an x402 v2 facilitator service (`POST /verify`, `POST /settle`, `GET /supported`)
 * over x402-rails server rails, usable by the official `HTTPFacilitatorClient` and by our `remoteRail`.
 */
export {
  createFacilitator,
  type Facilitator,
  type FacilitatorOptions,
  type FacilitatorEvent,
} from './createFacilitator';
export { startFacilitator, type StartFacilitatorOptions, type StartedFacilitator } from './startFacilitator';
export { verifyPayment } from './verifyPayment';
export { settlePayment, type SettleDeps } from './settlePayment';
export { supportedKinds, type KindSource } from './supportedKinds';
export { bearerCheck, type BearerCheck } from './bearerAuth';
export {
  createSqliteResourceCatalog,
  type SqliteResourceCatalog,
  type SqliteResourceCatalogParameters,
} from './sqliteResourceCatalog';
export {
  createPostgresResourceCatalog,
  type PostgresResourceCatalog,
  type PostgresResourceCatalogParameters,
} from './postgresResourceCatalog';
export {
  createResourceCatalog,
  mergeDiscoveryResource,
  parseDiscoveryResource,
  type CatalogQuery,
  type ResourceCatalog,
  type DiscoveryResource,
  type DiscoveryResourcesResponse,
} from './resourceCatalog';
export {
  FacilitatorRequestSchema,
  SupportedResponseSchema,
  SETTLEMENT_PENDING,
  type FacilitatorRequest,
  type SupportedKind,
  type SupportedResponse,
} from './wire';
export { remoteRail, type RemoteRailParameters } from '../server/remoteRail';
export {
  facilitatorOperations,
  type FacilitatorOperations,
  type FacilitatorOperationsParameters,
} from './facilitatorOperations';
