import type { Connection } from '@solana/web3.js';
import type { CaipNetwork } from '../../src/index';
import { solanaNetworkOf } from './requirements';

/** The cluster behind each connection: its genesis hash never changes. Failed lookups are not kept. */
const networks = new WeakMap<Connection, Promise<CaipNetwork>>();

/**
 * The CAIP-2 id of the cluster a connection reaches (`solanaNetworkOf`), asked once per connection. A Solana
 * transaction names no cluster (its blockhash ties it to the one it was built on), so a client must compare
 * this with an offer's `network` before signing: an offer labelled as a test cluster but paid from a mainnet
 * connection moves real money under the test cluster's budget. RPC failures become `RailUnavailableError`.
 *
 * @example if ((await clusterNetworkOf(wallet.connection)) !== offer.network) throw …
 */
export function clusterNetworkOf(connection: Connection): Promise<CaipNetwork> {
  let network = networks.get(connection);
  if (!network) {
    network = solanaNetworkOf(connection);
    networks.set(connection, network);
    network.catch(() => networks.delete(connection));
  }
  return network;
}
