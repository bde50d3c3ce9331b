export { discover } from './discover';
export { bazaar } from './bazaar';
export {
  DISCOVERY_PATHS,
  DiscoveryManifestSchema,
  DiscoveryItemSchema,
  bazaarExtension,
  type DiscoveryManifest,
  type DiscoveryItem,
  type RouteDiscovery,
} from './manifest';
