/**
 * Tools of a Solana attacker for test/adversary: signatures the payer can vary for one message, forged
 * signatures for small-order keys, token accounts for keys nobody holds, and payment transactions built by
 * hand around any authority.
 */
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import { PublicKey, Transaction, VersionedTransaction, type Keypair } from '@solana/web3.js';
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createMintToCheckedInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { buildExactTransaction, type BuildExactTransactionParameters } from '../../adapters/solana/index';
import type { SolanaDevnet } from '../../fixtures/solana/index';

const ORDER = ed25519.Point.Fn.ORDER;

function scalarLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i -= 1) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

function bytesLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let rest = n;
  for (let i = 0; i < 32; i += 1) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/**
 * Another valid Ed25519 signature of `message` by `keypair`, made with the nonce `nonce` instead of the
 * deterministic one (RFC 8032 derives r from the key and message; nothing on the verifying side can tell).
 * Every nonce gives a distinct signature that verifies strictly, as the Solana runtime checks it.
 */
export function signWithNonce(keypair: Keypair, message: Uint8Array, nonce: bigint): Uint8Array {
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(keypair.secretKey.subarray(0, 32));
  const r = ((nonce % ORDER) + ORDER) % ORDER || 1n;
  const R = ed25519.Point.BASE.multiply(r).toBytes();
  const k = scalarLE(createHash('sha512').update(R).update(pointBytes).update(message).digest()) % ORDER;
  const s = (r + k * scalar) % ORDER;
  const signature = new Uint8Array(64);
  signature.set(R, 0);
  signature.set(bytesLE(s), 32);
  return signature;
}

/** A copy of `tx` whose `signer` slot holds `signature`. */
export function withSignature(
  tx: VersionedTransaction,
  signer: PublicKey,
  signature: Uint8Array,
): VersionedTransaction {
  const copy = new VersionedTransaction(
    tx.message,
    tx.signatures.map((s) => Uint8Array.from(s)),
  );
  copy.addSignature(signer, signature);
  return copy;
}

/** The payload form of a transaction. */
export function payloadOf(tx: VersionedTransaction): { transaction: string } {
  return { transaction: Buffer.from(tx.serialize()).toString('base64') };
}

/** The identity point's encoding (01 00…00): a small-order Ed25519 public key, a valid Solana address. */
export const SMALL_ORDER_KEY = new PublicKey(Uint8Array.from([1, ...new Array<number>(31).fill(0)]));

/**
 * A "signature" by {@link SMALL_ORDER_KEY} that a cofactorless verifier without small-order checks (OpenSSL,
 * Node's `crypto.verify`) accepts for EVERY message: R = identity, s = 0. The Solana runtime refuses it.
 */
export function forgedSmallOrderSignature(): Uint8Array {
  const signature = new Uint8Array(64);
  signature[0] = 1;
  return signature;
}

/** Gives `owner` (any address, held by nobody or not) an associated token account holding `amount` of `mint`. */
export async function fundTokenOwner(
  devnet: SolanaDevnet,
  owner: PublicKey,
  amount: bigint,
  mint: PublicKey = devnet.mint,
): Promise<void> {
  const { mintAuthority } = devnet.keypairs;
  const account = await devnet.connection.getAccountInfo(mint);
  if (!account) throw new Error('no mint');
  const ata = getAssociatedTokenAddressSync(mint, owner, true, account.owner);
  const tx = new Transaction({ feePayer: mintAuthority.publicKey, ...(await devnet.connection.getLatestBlockhash()) });
  tx.add(
    createAssociatedTokenAccountIdempotentInstruction(mintAuthority.publicKey, ata, owner, mint, account.owner),
    createMintToCheckedInstruction(mint, ata, mintAuthority.publicKey, amount, devnet.decimals, [], account.owner),
  );
  tx.sign(mintAuthority);
  await devnet.connection.sendRawTransaction(tx.serialize());
}

/** An offer as the 402 carries it (the fields a payment transaction is built from). */
export type OfferKeys = { asset: string; payTo: string; amount: string; extra: Record<string, unknown> };

/**
 * The unsigned `exact` payment transaction for `offer` with `authority` as transfer authority, on a fresh
 * blockhash, with overrides (compute budget, memo…).
 */
export async function unsignedPayment(
  devnet: SolanaDevnet,
  offer: OfferKeys,
  authority: PublicKey,
  o: Partial<BuildExactTransactionParameters> = {},
): Promise<VersionedTransaction> {
  const mint = new PublicKey(offer.asset);
  const account = await devnet.connection.getAccountInfo(mint);
  if (!account) throw new Error('no mint');
  return buildExactTransaction({
    payer: authority,
    feePayer: new PublicKey(String(offer.extra.feePayer)),
    mint,
    tokenProgram: account.owner,
    decimals: devnet.decimals,
    payTo: new PublicKey(offer.payTo),
    amount: BigInt(offer.amount),
    recentBlockhash: (await devnet.connection.getLatestBlockhash()).blockhash,
    ...o,
  });
}
