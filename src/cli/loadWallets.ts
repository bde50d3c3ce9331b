import { base58Decode } from '../../adapters/solana/base58';
import type { ClientRail, Wallet } from '../index';
import { CliError } from './errors';
import { railPackages, requirePackages } from './requirePackages';
import type { WalletSettings } from './walletConfig';

/** The rails and wallets `pay` uses, and a cleanup for connections they hold open. */
export type LoadedWallets = {
  adapters: ClientRail[];
  wallets: Wallet[];
  /** Which rails are configured, for messages: `evm`, `solana`, `lightning`. */
  kinds: string[];
  close(): void;
};

/**
 * Builds client rails and wallets from settings. Each rail's chain library is imported only when that rail is
 * configured, so an EVM-only user never loads @solana/web3.js or ln-service. A setting given without its pair
 * (a key without an RPC URL) is an error; key material never appears in messages.
 *
 * @example const { adapters, wallets } = await loadWallets(await readWalletSettings(process.env));
 */
export async function loadWallets(s: WalletSettings): Promise<LoadedWallets> {
  const adapters: ClientRail[] = [];
  const wallets: Wallet[] = [];
  const kinds: string[] = [];
  const closers: Array<() => void> = [];
  pairOrNothing(s, ['X402_EVM_PRIVATE_KEY', 'X402_EVM_RPC_URL']);
  pairOrNothing(s, ['X402_SOLANA_SECRET_KEY', 'X402_SOLANA_RPC_URL']);
  pairOrNothing(s, ['X402_LND_SOCKET', 'X402_LND_CERT', 'X402_LND_MACAROON']);
  const configured = [
    ...(s.X402_EVM_PRIVATE_KEY && s.X402_EVM_RPC_URL ? (['evm'] as const) : []),
    ...(s.X402_SOLANA_SECRET_KEY && s.X402_SOLANA_RPC_URL ? (['solana'] as const) : []),
    ...(s.X402_LND_SOCKET && s.X402_LND_CERT && s.X402_LND_MACAROON ? (['lightning'] as const) : []),
  ];
  if (configured.length > 0) {
    requirePackages(
      `Paying with the ${configured.join(', ')} wallet${configured.length > 1 ? 's' : ''} set in the environment`,
      configured.flatMap((rail) => railPackages[rail]),
    );
  }

  if (s.X402_EVM_PRIVATE_KEY && s.X402_EVM_RPC_URL) {
    const key = s.X402_EVM_PRIVATE_KEY.trim();
    const hex = key.startsWith('0x') ? key : `0x${key}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex))
      throw new CliError('X402_EVM_PRIVATE_KEY is not a private key: expected 32 bytes of hex (0x + 64 hex digits).');
    const rpcUrl = httpUrl('X402_EVM_RPC_URL', s.X402_EVM_RPC_URL);
    const [{ createPublicClient, http }, { privateKeyToAccount }, evm] = await Promise.all([
      import('viem'),
      import('viem/accounts'),
      import('../../adapters/evm/index'),
    ]);
    const publicClient = createPublicClient({ transport: http(rpcUrl) });
    wallets.push(evm.evmWallet(privateKeyToAccount(hex as `0x${string}`), { publicClient }));
    adapters.push(...evm.evmClients());
    kinds.push('evm');
  }

  if (s.X402_SOLANA_SECRET_KEY && s.X402_SOLANA_RPC_URL) {
    const secret = solanaSecretKey(s.X402_SOLANA_SECRET_KEY);
    const rpcUrl = httpUrl('X402_SOLANA_RPC_URL', s.X402_SOLANA_RPC_URL);
    const [{ Connection, Keypair }, solana] = await Promise.all([
      import('@solana/web3.js'),
      import('../../adapters/solana/index'),
    ]);
    let keypair;
    try {
      keypair = Keypair.fromSecretKey(secret);
    } catch {
      throw new CliError('X402_SOLANA_SECRET_KEY is not a valid Solana secret key (its public half does not match).');
    }
    wallets.push(solana.solanaWallet(keypair, { connection: new Connection(rpcUrl, { commitment: 'confirmed' }) }));
    adapters.push(solana.solanaExactClient());
    kinds.push('solana');
  }

  if (s.X402_LND_SOCKET && s.X402_LND_CERT && s.X402_LND_MACAROON) {
    const [{ authenticatedLndGrpc }, lightning] = await Promise.all([
      import('ln-service'),
      import('../../adapters/lightning/index'),
    ]);
    let lnd;
    try {
      lnd = authenticatedLndGrpc({
        socket: s.X402_LND_SOCKET,
        cert: s.X402_LND_CERT,
        macaroon: s.X402_LND_MACAROON,
      }).lnd;
    } catch {
      throw new CliError(
        'X402_LND_SOCKET / X402_LND_CERT / X402_LND_MACAROON do not make an LND connection (cert: base64 PEM; macaroon: hex or base64).',
      );
    }
    closers.push(() => closeLnd(lnd));
    wallets.push(lightning.lightningWallet(lnd));
    adapters.push(lightning.lightningClient());
    kinds.push('lightning');
  }

  return {
    adapters,
    wallets,
    kinds,
    close() {
      for (const close of closers) close();
    },
  };
}

function pairOrNothing(s: WalletSettings, names: Array<keyof WalletSettings>): void {
  const given = names.filter((n) => s[n] !== undefined);
  if (given.length > 0 && given.length < names.length) {
    throw new CliError(
      `${given.join(' and ')} ${given.length === 1 ? 'is' : 'are'} set but ${names.filter((n) => s[n] === undefined).join(' and ')} ${names.length - given.length === 1 ? 'is' : 'are'} not; set all of ${names.join(', ')}.`,
    );
  }
}

function httpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${name} is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`${name} must be an http(s) URL.`);
  return value;
}

/** A Solana secret key from base58 or a JSON byte array (as `solana-keygen` writes); 64 bytes. */
function solanaSecretKey(text: string): Uint8Array {
  const trimmed = text.trim();
  let bytes: Uint8Array | undefined;
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
        bytes = Uint8Array.from(parsed as number[]);
    } catch {
      bytes = undefined;
    }
  } else {
    try {
      bytes = base58Decode(trimmed);
    } catch {
      bytes = undefined;
    }
  }
  if (!bytes || bytes.length !== 64)
    throw new CliError(
      'X402_SOLANA_SECRET_KEY is not a Solana secret key: expected 64 bytes as base58 or a JSON array of numbers.',
    );
  return bytes;
}

/** Closes the gRPC clients of an ln-service `lnd` object so the process can exit. */
function closeLnd(lnd: object): void {
  for (const client of Object.values(lnd)) {
    if (typeof client === 'object' && client !== null && 'close' in client && typeof client.close === 'function')
      client.close();
  }
}
