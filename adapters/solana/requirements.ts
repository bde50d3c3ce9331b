import type { Connection } from '@solana/web3.js';
import { RailUnavailableError, type CaipNetwork, type PaymentRequirements } from '../../src/index';
import { MAX_MEMO_BYTES, SOLANA_RAIL_ID } from './constants';

/**
 * The CAIP-2 id of the cluster behind a connection: `solana:` + the first 32 characters of its genesis hash
 * (mainnet: `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`).
 *
 * @example const network = await solanaNetworkOf(connection);
 */
export async function solanaNetworkOf(connection: Connection): Promise<CaipNetwork> {
  try {
    return `solana:${(await connection.getGenesisHash()).slice(0, 32)}`;
  } catch (cause) {
    throw new RailUnavailableError('The Solana RPC did not report its genesis hash.', { cause, rail: SOLANA_RAIL_ID });
  }
}

/**
 * True for a Solana CAIP-2 network id.
 *
 * @example isSolanaNetwork('solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp'); // true
 */
export function isSolanaNetwork(network: string): boolean {
  return /^solana:[1-9A-HJ-NP-Za-km-z]{1,32}$/.test(network);
}

/**
 * The memo an offer asks for (`extra.memo`), when it asks for one.
 *
 * @example memoOf({ ...offer, extra: { feePayer, memo: 'order-42' } }); // 'order-42'
 */
export function memoOf(req: PaymentRequirements): string | undefined {
  const memo = req.extra.memo;
  return typeof memo === 'string' && memo.length > 0 ? memo : undefined;
}

/**
 * True when a memo fits the Memo instruction limit we accept.
 *
 * @example memoFits('order-42'); // true
 */
export function memoFits(memo: string): boolean {
  return Buffer.byteLength(memo, 'utf8') <= MAX_MEMO_BYTES;
}
