import {
  Connection,
  PublicKey,
  SystemProgram,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
  type Keypair,
} from '@solana/web3.js';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  createReceiptSigner,
  paywall,
  type FetchLike,
  type Paywall,
  type PaywallOptions,
  type PriceOffer,
  type RoutesConfig,
  type ServerRail,
} from '../../src/index';
import { evmEip3009Server, evmWallet, type EvmWallet } from '../../adapters/evm/index';
import {
  buildExactTransaction,
  solanaExactServer,
  solanaWallet,
  type BuildExactTransactionParameters,
  type SolanaWallet,
} from '../../adapters/solana/index';
import { ed25519Sign } from '../../adapters/solana/ed25519';
import type { EvmDevnet } from '../../fixtures/evm/index';
import type { SolanaDevnet, SolanaWalletName } from '../../fixtures/solana/index';

/** Price of every Solana test route: 0.01 token (6 decimals). */
export const SOL_PRICE = 10_000n;

/** Options of {@link solanaPaywall}. */
export type SolanaPaywallOptions = Partial<PaywallOptions> & {
  /** When given, an EVM rail joins and `GET /paid/multi` offers EVM first, then Solana. */
  evm?: EvmDevnet;
  /** Extra parameters of the Solana server rail. */
  rail?: { maxComputeUnitPrice?: bigint; confirmTimeoutMs?: number };
};

/**
 * A paywall with the Solana rail over both devnet mints (and optionally the EVM rail), served in-process.
 * Routes: `GET /paid/sol` (Token mint), `GET /paid/sol2022` (Token-2022 mint), `GET /paid/memo` (extra.memo),
 * `GET /paid/multi` (EVM then Solana, only with `evm`).
 */
export async function solanaPaywall(
  devnet: SolanaDevnet,
  options: SolanaPaywallOptions = {},
): Promise<{ pw: Paywall; fetch: FetchLike; connection: Connection; rail: ServerRail }> {
  const { evm, rail: railOptions, ...paywallOptions } = options;
  // The server's own connection (not the devnet's), as an app would make one.
  const connection = new Connection(devnet.rpcUrl, { commitment: 'confirmed' });
  const solana = solanaExactServer({
    connection,
    network: devnet.network,
    feePayer: devnet.keypairs.feePayer,
    mints: [devnet.mint, devnet.mint2022],
    payTo: devnet.keypairs.payee.publicKey,
    confirmTimeoutMs: railOptions?.confirmTimeoutMs ?? 10_000,
    pollIntervalMs: 20,
    ...(railOptions?.maxComputeUnitPrice === undefined ? {} : { maxComputeUnitPrice: railOptions.maxComputeUnitPrice }),
  });
  const sol: PriceOffer = { rail: 'solana-spl', amount: SOL_PRICE };
  const routes: RoutesConfig = {
    'GET /paid/sol': { accepts: [sol], description: 'Solana SPL Token paid' },
    'GET /paid/sol2022': { accepts: [{ ...sol, asset: devnet.mint2022.toBase58() }] },
    'GET /paid/memo': { accepts: [{ ...sol, extra: { memo: 'order-42' } }] },
  };
  const rails: ServerRail[] = [solana];
  if (evm) {
    rails.push(
      evmEip3009Server({
        publicClient: evm.publicClient,
        walletClient: evm.walletClientFor('facilitator'),
        confirmTimeoutMs: 10_000,
        chainId: evm.chainId,
        token: evm.token,
        payTo: evm.accounts.payee.address,
      }),
    );
    routes['GET /paid/multi'] = { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }, sol] };
  }
  const pw = paywall(routes, { rails, signer: await createReceiptSigner(), ...paywallOptions });
  const handler = pw.wrap(async (request) => Response.json({ ok: true, path: new URL(request.url).pathname }));
  const fetch: FetchLike = async (input, init) => handler(new Request(input, init));
  return { pw, fetch, connection, rail: solana };
}

/** A Solana payment wallet for a devnet keypair, on its own connection. */
export function solanaWalletFor(devnet: SolanaDevnet, name: SolanaWalletName): SolanaWallet {
  return solanaWallet(devnet.keypairs[name], {
    connection: new Connection(devnet.rpcUrl, { commitment: 'confirmed' }),
  });
}

/** An EVM payment wallet for an EVM devnet account. */
export function evmWalletFor(evm: EvmDevnet, name: 'payer' | 'payer2'): EvmWallet {
  return evmWallet(privateKeyToAccount(evm.accounts[name].privateKey as Hex), { publicClient: evm.publicClient });
}

/** Overrides for a hand-made payment transaction (for rejection tests). */
export type HandMadeOptions = Partial<BuildExactTransactionParameters> & {
  /** Keypairs that sign (default: the payer). */
  signers?: Keypair[];
  /** Edits the decompiled message before signing. */
  edit?: (message: TransactionMessage) => void;
  /** Instruction appended after the memo. */
  inject?: TransactionInstruction;
  /** Puts this key's signature in the authority's slot (a signature from another key). */
  forgeWith?: Keypair;
};

/**
 * Builds and signs an `exact` payment transaction with the devnet's payer and the offer's keys, with
 * overrides — the way an attacker or a buggy client would.
 */
export async function handMadePayment(
  devnet: SolanaDevnet,
  offer: { asset: string; payTo: string; amount: string; extra: Record<string, unknown> },
  payer: Keypair,
  o: HandMadeOptions = {},
): Promise<{ transaction: string }> {
  const mint = o.mint ?? new PublicKey(offer.asset);
  const account = await devnet.connection.getAccountInfo(mint);
  if (!account) throw new Error('no mint');
  const base = buildExactTransaction({
    payer: payer.publicKey,
    feePayer: new PublicKey(String(offer.extra.feePayer)),
    mint,
    tokenProgram: account.owner,
    decimals: devnet.decimals,
    payTo: new PublicKey(offer.payTo),
    amount: BigInt(offer.amount),
    recentBlockhash: (await devnet.connection.getLatestBlockhash()).blockhash,
    ...stripExtras(o),
  });
  let tx = base;
  if (o.inject || o.edit) {
    const message = TransactionMessage.decompile(base.message);
    if (o.inject) message.instructions.push(o.inject);
    o.edit?.(message);
    tx = new VersionedTransaction(message.compileToV0Message());
  }
  if (o.forgeWith) {
    const authority = tx.message.staticAccountKeys[1];
    if (!authority) throw new Error('no authority signer');
    tx.addSignature(authority, ed25519Sign(o.forgeWith, tx.message.serialize()));
    return { transaction: Buffer.from(tx.serialize()).toString('base64') };
  }
  const signers = (o.signers ?? [payer]).filter((k) =>
    tx.message.staticAccountKeys.slice(0, tx.message.header.numRequiredSignatures).some((s) => s.equals(k.publicKey)),
  );
  if (signers.length > 0) tx.sign(signers);
  return { transaction: Buffer.from(tx.serialize()).toString('base64') };
}

function stripExtras(o: HandMadeOptions): Partial<BuildExactTransactionParameters> {
  const { signers: _signers, inject: _inject, forgeWith: _forgeWith, edit: _edit, ...rest } = o;
  return rest;
}

/** A lamport transfer from `from` — an instruction no exact payment may carry. */
export function lamportTransfer(from: PublicKey, to: PublicKey): TransactionInstruction {
  return SystemProgram.transfer({ fromPubkey: from, toPubkey: to, lamports: 1 });
}
