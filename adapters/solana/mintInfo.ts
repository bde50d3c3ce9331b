import { PublicKey, type Connection } from '@solana/web3.js';
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, getTransferFeeConfig, unpackMint } from '@solana/spl-token';
import { ConfigurationError, RailUnavailableError } from '../../src/index';
import { SOLANA_RAIL_ID } from './constants';

/** What a payment needs to know about a mint: its token program and decimals. */
export type MintInfo = {
  mint: PublicKey;
  /** Token or Token-2022 (the mint account's owner). */
  programId: PublicKey;
  decimals: number;
};

/**
 * Reads a mint through the connection: its owner must be the Token or the Token-2022 program. Token-2022
 * mints with a transfer fee are refused (the payee would receive less than `amount`). RPC failures become
 * `RailUnavailableError`; a missing or foreign account a `ConfigurationError`.
 *
 * @example const { programId, decimals } = await readMintInfo(connection, mint);
 */
export async function readMintInfo(connection: Connection, mint: PublicKey): Promise<MintInfo> {
  let account;
  try {
    account = await connection.getAccountInfo(mint);
  } catch (cause) {
    throw new RailUnavailableError(`The Solana RPC failed while reading mint ${mint.toBase58()}. Try again shortly.`, {
      cause,
      rail: SOLANA_RAIL_ID,
    });
  }
  if (account === null) throw new ConfigurationError(`Mint ${mint.toBase58()} does not exist on this cluster.`);
  const programId = account.owner;
  if (!programId.equals(TOKEN_PROGRAM_ID) && !programId.equals(TOKEN_2022_PROGRAM_ID)) {
    throw new ConfigurationError(`Account ${mint.toBase58()} is not a mint of the Token or Token-2022 program.`);
  }
  let decoded;
  try {
    decoded = unpackMint(mint, account, programId);
  } catch (cause) {
    throw new ConfigurationError(`Account ${mint.toBase58()} is not a valid mint.`, { cause });
  }
  const fee = getTransferFeeConfig(decoded);
  if (fee && (fee.newerTransferFee.transferFeeBasisPoints > 0 || fee.olderTransferFee.transferFeeBasisPoints > 0)) {
    throw new ConfigurationError(
      `Mint ${mint.toBase58()} charges a transfer fee; exact payments need a fee-free mint.`,
    );
  }
  return { mint, programId, decimals: decoded.decimals };
}

/**
 * A per-process cache of mint facts (program and decimals never change for a mint). Failed reads are not
 * cached.
 *
 * @example const mints = createMintCache(connection); await mints.get(mint);
 */
export function createMintCache(connection: Connection): { get(mint: PublicKey): Promise<MintInfo> } {
  const cache = new Map<string, Promise<MintInfo>>();
  return {
    get(mint) {
      const key = mint.toBase58();
      let entry = cache.get(key);
      if (!entry) {
        entry = readMintInfo(connection, mint);
        cache.set(key, entry);
        entry.catch(() => cache.delete(key));
      }
      return entry;
    },
  };
}

/**
 * Parses a base58 public key; undefined when it is not one.
 *
 * @example publicKeyOrUndefined(req.extra.feePayer)
 */
export function publicKeyOrUndefined(value: unknown): PublicKey | undefined {
  if (typeof value !== 'string' || value.length < 32 || value.length > 44) return undefined;
  try {
    return new PublicKey(value);
  } catch {
    return undefined;
  }
}
