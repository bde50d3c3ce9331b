import { base58Encode } from '../../adapters/solana/base58';
import type { EvmDevnet } from '../../fixtures/evm/index';
import type { LightningDevnet } from '../../fixtures/lightning/index';
import type { SolanaDevnet } from '../../fixtures/solana/index';
import { formatUnits, table } from './output';
import type { WalletSettings } from './walletConfig';

/** The EVM devnet as printed: endpoint, token and every funded account with its (public anvil dev) key. */
export type EvmDevnetDescription = {
  rpcUrl: string;
  chainId: number;
  network: string;
  token: { address: string; name: string; version: string; symbol: string; decimals: number };
  accounts: Record<string, { address: string; privateKey: string }>;
};

/** The Solana devnet as printed: endpoints, mints and every funded keypair (secret key in base58). */
export type SolanaDevnetDescription = {
  rpcUrl: string;
  wsUrl: string;
  network: string;
  mint: string;
  mint2022: string;
  decimals: number;
  keypairs: Record<string, { publicKey: string; secretKey: string }>;
};

/** The Lightning devnet as printed: every node's gRPC socket, TLS cert (base64 PEM) and admin macaroon (hex). */
export type LightningDevnetDescription = {
  network: string;
  nodes: Record<string, { socket: string; publicKey: string; cert: string; macaroon: string }>;
};

/** Every rail's devnet as printed by `devnet up` and `demo --serve`. */
export type DevnetsDescription = {
  evm: EvmDevnetDescription;
  solana: SolanaDevnetDescription;
  lightning: LightningDevnetDescription;
};

/**
 * Describes running devnets as plain JSON, keys included. Only for devnets: these keys are public test keys.
 *
 * @example printJson(describeDevnets(await startDevnets()));
 */
export function describeDevnets(devnets: {
  evm: EvmDevnet;
  solana: SolanaDevnet;
  lightning: LightningDevnet;
}): DevnetsDescription {
  const { evm, solana, lightning } = devnets;
  return {
    evm: {
      rpcUrl: evm.rpcUrl,
      chainId: evm.chainId,
      network: evm.network,
      token: {
        address: evm.token.address,
        name: evm.token.name,
        version: evm.token.version,
        symbol: evm.token.symbol,
        decimals: evm.token.decimals,
      },
      accounts: Object.fromEntries(
        Object.entries(evm.accounts).map(([name, a]) => [name, { address: a.address, privateKey: a.privateKey }]),
      ),
    },
    solana: {
      rpcUrl: solana.rpcUrl,
      wsUrl: solana.wsUrl,
      network: solana.network,
      mint: solana.mint.toBase58(),
      mint2022: solana.mint2022.toBase58(),
      decimals: solana.decimals,
      keypairs: Object.fromEntries(
        Object.entries(solana.keypairs).map(([name, k]) => [
          name,
          { publicKey: k.publicKey.toBase58(), secretKey: base58Encode(k.secretKey) },
        ]),
      ),
    },
    lightning: {
      network: lightning.network,
      nodes: Object.fromEntries(
        Object.entries(lightning.nodes).map(([name, n]) => [
          name,
          { socket: n.socket, publicKey: n.publicKey, cert: n.cert, macaroon: n.macaroon },
        ]),
      ),
    },
  };
}

/** Human-readable text of {@link describeDevnets}: endpoints first, then keys. */
export function formatDevnets(d: DevnetsDescription): string {
  const lines: string[] = [];
  lines.push(`EVM (anvil) — ${d.evm.network}`);
  lines.push(
    table([
      ['rpc', d.evm.rpcUrl],
      ['chainId', String(d.evm.chainId)],
      [
        'token',
        `${d.evm.token.address} (${d.evm.token.symbol}, ${d.evm.token.decimals} decimals, EIP-712 "${d.evm.token.name}" v${d.evm.token.version})`,
      ],
    ]),
  );
  lines.push('  accounts (public anvil dev keys):');
  lines.push(
    table(
      Object.entries(d.evm.accounts).map(([name, a]) => [name, `${a.address}  ${a.privateKey}`]),
      '    ',
    ),
  );
  lines.push('', `Solana (litesvm) — ${d.solana.network}`);
  lines.push(
    table([
      ['rpc', d.solana.rpcUrl],
      ['ws', d.solana.wsUrl],
      ['mint', `${d.solana.mint} (SPL Token, ${d.solana.decimals} decimals)`],
      ['mint2022', `${d.solana.mint2022} (Token-2022)`],
    ]),
  );
  lines.push('  keypairs (public key, base58 secret key; devnet only):');
  lines.push(
    table(
      Object.entries(d.solana.keypairs).map(([name, k]) => [name, `${k.publicKey}  ${k.secretKey}`]),
      '    ',
    ),
  );
  lines.push('', `Lightning (LND-protocol stand-in, not lnd) — ${d.lightning.network}`);
  for (const [name, n] of Object.entries(d.lightning.nodes)) {
    lines.push(`  ${name}`);
    lines.push(
      table(
        [
          ['socket', n.socket],
          ['pubkey', n.publicKey],
          ['macaroon', n.macaroon],
          ['cert', n.cert],
        ],
        '    ',
      ),
    );
  }
  return lines.join('\n');
}

/**
 * The environment that configures `x402-rails pay` with the devnets' payer wallets (EVM `payer`, Solana
 * `payer`, Lightning node `alice`), as variables by name.
 *
 * @example spawn('x402-rails', ['pay', url], { env: { ...process.env, ...payerWalletEnv(describeDevnets(devnets)) } });
 */
export function payerWalletEnv(d: DevnetsDescription): WalletSettings {
  const env: WalletSettings = {};
  const evmPayer = d.evm.accounts['payer'];
  if (evmPayer) Object.assign(env, { X402_EVM_RPC_URL: d.evm.rpcUrl, X402_EVM_PRIVATE_KEY: evmPayer.privateKey });
  const solPayer = d.solana.keypairs['payer'];
  if (solPayer)
    Object.assign(env, { X402_SOLANA_RPC_URL: d.solana.rpcUrl, X402_SOLANA_SECRET_KEY: solPayer.secretKey });
  const alice = d.lightning.nodes['alice'];
  if (alice)
    Object.assign(env, { X402_LND_SOCKET: alice.socket, X402_LND_CERT: alice.cert, X402_LND_MACAROON: alice.macaroon });
  return env;
}

/**
 * The environment the server examples of `examples/` settle with on the devnet's chain: its RPC, a gas account
 * (`deployer`, so a facilitator started with the `facilitator` account never races it for nonces), the token and the
 * payee.
 *
 * @example spawn('npx', ['tsx', 'examples/hono-server.ts'], { env: { ...process.env, ...exampleServerEnv(d) } });
 */
export function exampleServerEnv(d: DevnetsDescription): Record<string, string> {
  const gas = d.evm.accounts['deployer'];
  const payee = d.evm.accounts['payee'];
  if (!gas || !payee) return {};
  return {
    X402_EVM_RPC_URL: d.evm.rpcUrl,
    X402_EVM_GAS_PRIVATE_KEY: gas.privateKey,
    X402_EVM_TOKEN_ADDRESS: d.evm.token.address,
    X402_EVM_PAY_TO: payee.address,
  };
}

/**
 * {@link payerWalletEnv} as shell lines, one `export` per rail.
 *
 * @example print(exportLines(payerWalletEnv(description)).join('\n'));
 */
export function exportLines(env: WalletSettings): string[] {
  const rails: Array<[string, string]> = [
    ['X402_EVM_', 'evm'],
    ['X402_SOLANA_', 'solana'],
    ['X402_LND_', 'lightning'],
  ];
  return rails
    .map(([prefix]) =>
      Object.entries(env)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, value]) => `${name}=${value}`),
    )
    .filter((pairs) => pairs.length > 0)
    .map((pairs) => `export ${pairs.join(' ')}`);
}

/**
 * An amount of a devnet rail in whole units for people: `0.01 rUSD`, `0.01 SPL`, `21 sat` (the atomic figure stays
 * in JSON output and receipts).
 *
 * @example devnetAmount('lightning-l402', '21000', { evm: { token: { symbol: 'rUSD', decimals: 6 } }, solana: { decimals: 6 } }) // '21 sat'
 */
export function devnetAmount(
  rail: string,
  atomic: string,
  d: { evm: { token: { symbol: string; decimals: number } }; solana: { decimals: number } },
): string {
  const amount = BigInt(atomic);
  if (rail.startsWith('evm-')) return `${formatUnits(amount, d.evm.token.decimals)} ${d.evm.token.symbol}`;
  if (rail.startsWith('solana-')) return `${formatUnits(amount, d.solana.decimals)} SPL`;
  if (rail.startsWith('lightning-')) return `${formatUnits(amount, 3)} sat`;
  return `${atomic} atomic units`;
}
