import { PublicKey, type Connection, type Keypair } from '@solana/web3.js';
import {
  ConfigurationError,
  PaymentInvalidError,
  defineServerRail,
  type CaipNetwork,
  type PaymentRequirements,
  type PriceOffer,
  type RailPayload,
  type FindSettlementRail,
  type SettleResult,
  type VerifyResult,
} from '../../src/index';
import {
  DEFAULT_MAX_COMPUTE_UNIT_LIMIT,
  DEFAULT_MAX_COMPUTE_UNIT_PRICE,
  DEFAULT_MAX_FEE_LAMPORTS,
  DEFAULT_MAX_TIMEOUT_SECONDS,
  LAMPORTS_PER_SIGNATURE,
  SOLANA_RAIL_ID,
} from './constants';
import { inspectExactTransaction, type ExactTransfer } from './inspectTransaction';
import { createMintCache, publicKeyOrUndefined } from './mintInfo';
import { decodePaymentTransaction, paymentIdOf } from './payload';
import { isSolanaNetwork, memoFits, memoOf } from './requirements';
import { coSign, hasLanded, landedMessageMatches, settledStatus, settleTransaction } from './settleTransaction';
import { DEFAULT_RPC_TIMEOUT_MS, withinRpcTimeout } from './rpcDeadline';
import { blockhashIsValid, simulatePayment } from './simulatePayment';
import { checkSignerSignature } from './verifySignature';
import type { VersionedTransaction } from '@solana/web3.js';

/** Parameters of {@link solanaExactServer}. */
export type SolanaExactServerParameters = {
  /** RPC connection to the cluster (reads mints, checks blockhashes, simulates, sends). */
  connection: Connection;
  /** CAIP-2 id of the cluster, `solana:<genesis hash prefix>` (see `solanaNetworkOf`). */
  network: CaipNetwork;
  /** Pays the network fee of every settlement and is named in `extra.feePayer`. Never a transfer party. */
  feePayer: Keypair;
  /**
   * The mint(s) this rail accepts, Token or Token-2022 (detected from the mint account). One instance takes
   * them all; an offer picks one with `asset` (default: the first).
   */
  mints: PublicKey | string | ReadonlyArray<PublicKey | string>;
  /** Default payee (an owner address; the payment credits its associated token account). */
  payTo: PublicKey | string;
  /** Highest compute-unit price accepted, micro-lamports (default 5 000 000, the official cap). */
  maxComputeUnitPrice?: bigint | number;
  /** Highest compute-unit limit accepted (default 200 000). */
  maxComputeUnitLimit?: number;
  /**
   * Most lamports the fee payer may be charged for one settlement: 5,000 per signature (10,000) plus the
   * priority fee `ceil(limit × price / 1e6)`. Default 20,000 (`DEFAULT_MAX_FEE_LAMPORTS`); the official
   * client's budget costs 10,001. A function gets the offer, so the cap can follow the price (e.g.
   * `(req) => 10_000n + BigInt(req.amount) / 10n` for at most 1 lamport of priority fee per 10 atomic units).
   * A payment over the cap is refused at verify with `fee_too_high`, before the handler runs.
   */
  maxFeeLamports?: bigint | number | ((requirements: PaymentRequirements) => bigint);
  /** How long settle waits for confirmation before answering `pending` (default 30 s). */
  confirmTimeoutMs?: number;
  /** Delay between confirmation polls (default 100 ms). */
  pollIntervalMs?: number;
  /** Longest wait for one RPC call before the paywall answers 503 (default 10,000 ms; a `Connection` sets none). */
  rpcTimeoutMs?: number;
};

function keyOrThrow(value: PublicKey | string, what: string): PublicKey {
  const key = typeof value === 'string' ? publicKeyOrUndefined(value) : value;
  if (!key) throw new ConfigurationError(`${what} must be a base58 Solana address.`);
  return key;
}

/**
 * Server rail for x402 `exact` on Solana (SPL Token and Token-2022), wire-identical to the official SVM
 * scheme: requirements `{ scheme: 'exact', network: 'solana:…', asset: <mint>, payTo: <owner>,
 * extra: { feePayer, memo? } }`, payload `{ transaction: <base64> }` partially signed by the payer.
 *
 * verify (no state change): decode; strict layout `[limit, price, TransferChecked, Memo?]`; fee payer ours
 * and neither transfer party nor in any instruction; compute price/limit under the caps; program matches the
 * mint's owner; the fee the fee payer would be charged under `maxFeeLamports`; mint, destination ATA, amount,
 * decimals and memo match; the payer's Ed25519 signature, checked as the runtime checks it (strict: no
 * small-order or non-canonical keys or `R`, `s` below the group order); not already on chain; blockhash still
 * valid; the fee-payer-co-signed transaction passes simulation WITH signature verification. settle: co-signs as
 * fee payer, sends, confirms by polling; deduplicated per transaction (see `settleTransaction`). No RPC call is
 * waited on longer than `rpcTimeoutMs`: verify answers 503, settle confirms a send left unanswered by polling.
 *
 * The payment id is base58(SHA-256(message)) — not a signature, which the payer can vary (Ed25519 admits
 * many valid signatures of one message) — and the receipt reference is the transaction id, the fee payer's
 * deterministic signature of that same message, so one message is one claim and at most one landed transfer.
 *
 * @example
 * const rail = solanaExactServer({ connection, network: await solanaNetworkOf(connection), feePayer, mints: [usdc], payTo });
 * paywall({ 'GET /report': { accepts: [{ rail: 'solana-spl', amount: 10_000n }] } }, { rails: [rail], signer });
 */
export function solanaExactServer(p: SolanaExactServerParameters): FindSettlementRail {
  if (!isSolanaNetwork(p.network))
    throw new ConfigurationError(`"${p.network}" is not a Solana CAIP-2 network id (solana:<genesis hash prefix>).`);
  const mintList = (Array.isArray(p.mints) ? p.mints : [p.mints]).map((m: PublicKey | string) =>
    keyOrThrow(m, 'Every mint'),
  );
  const firstMint = mintList[0];
  if (!firstMint) throw new ConfigurationError('solanaExactServer needs at least one mint.');
  const payTo = keyOrThrow(p.payTo, 'payTo');
  const feePayer = p.feePayer.publicKey;
  const feePayerText = feePayer.toBase58();
  const accepted = new Set(mintList.map((m) => m.toBase58()));
  const maxComputeUnitPrice = BigInt(p.maxComputeUnitPrice ?? DEFAULT_MAX_COMPUTE_UNIT_PRICE);
  const maxComputeUnitLimit = p.maxComputeUnitLimit ?? DEFAULT_MAX_COMPUTE_UNIT_LIMIT;
  const feeCap = p.maxFeeLamports ?? DEFAULT_MAX_FEE_LAMPORTS;
  if (typeof feeCap !== 'function' && BigInt(feeCap) < 2n * LAMPORTS_PER_SIGNATURE) {
    throw new ConfigurationError(
      `maxFeeLamports ${feeCap} is below the base fee of a payment (2 signatures × ${LAMPORTS_PER_SIGNATURE} lamports); every payment would be refused.`,
    );
  }
  const maxFeeLamportsFor = (req: PaymentRequirements): bigint =>
    typeof feeCap === 'function' ? feeCap(req) : BigInt(feeCap);
  const mints = createMintCache(p.connection);
  const rpcTimeoutMs = p.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;

  /** Checks of the offer itself (not the payment). */
  const offerProblem = (req: PaymentRequirements): { reason: string; message: string } | undefined => {
    if (req.scheme !== 'exact')
      return { reason: 'unsupported_scheme', message: 'This rail settles only the exact scheme.' };
    if (req.network !== p.network)
      return { reason: 'network_mismatch', message: `This server settles on ${p.network}, not ${req.network}.` };
    if (!accepted.has(req.asset))
      return { reason: 'asset_mismatch', message: 'The offer names a mint this server does not take.' };
    if (req.extra.feePayer !== feePayerText)
      return { reason: 'fee_payer_mismatch', message: `The offer must name this server's fee payer ${feePayerText}.` };
    if (!publicKeyOrUndefined(req.payTo))
      return { reason: 'invalid_requirements', message: 'payTo is not a Solana address.' };
    return undefined;
  };

  /** Everything that needs no RPC but the (cached) mint account. */
  const inspect = async (
    tx: VersionedTransaction,
    req: PaymentRequirements,
  ): Promise<{ transfer: ExactTransfer } | { reason: string; message: string; payer?: string }> => {
    const offer = offerProblem(req);
    if (offer) return offer;
    const memo = memoOf(req);
    const inspected = inspectExactTransaction(tx, {
      feePayer,
      asset: new PublicKey(req.asset),
      payTo: new PublicKey(req.payTo),
      amount: BigInt(req.amount),
      ...(memo === undefined ? {} : { memo }),
      maxComputeUnitPrice,
      maxComputeUnitLimit,
      maxFeeLamports: maxFeeLamportsFor(req),
    });
    if (!inspected.ok)
      return {
        reason: inspected.reason,
        message: inspected.message,
        ...(inspected.payer === undefined ? {} : { payer: inspected.payer }),
      };
    const { transfer } = inspected;
    const payer = transfer.authority.toBase58();
    const mint = await withinRpcTimeout(mints.get(transfer.mint), rpcTimeoutMs, 'the mint account');
    if (!transfer.programId.equals(mint.programId)) {
      return {
        reason: 'token_program_mismatch',
        message: `Mint ${req.asset} belongs to ${mint.programId.toBase58()}, the transfer calls another token program.`,
        payer,
      };
    }
    if (transfer.decimals !== mint.decimals)
      return {
        reason: 'decimals_mismatch',
        message: `The transfer states ${transfer.decimals} decimals; the mint has ${mint.decimals}.`,
        payer,
      };
    const signature = checkSignerSignature(tx, transfer.authority);
    if (signature === 'missing')
      return { reason: 'missing_signature', message: 'The payer has not signed the transaction.', payer };
    if (signature === 'invalid')
      return {
        reason: 'invalid_signature',
        message: "The payer's signature does not verify over this transaction.",
        payer,
      };
    return { transfer };
  };

  const decode = (payload: RailPayload): VersionedTransaction | { reason: string; message: string } => {
    try {
      return decodePaymentTransaction(payload);
    } catch (error) {
      if (error instanceof PaymentInvalidError) return { reason: error.reason, message: error.message };
      throw error;
    }
  };

  return defineServerRail({
    id: SOLANA_RAIL_ID,
    supports: (req) => offerProblem(req) === undefined,
    async quote(offer: PriceOffer): Promise<PaymentRequirements> {
      const asset = offer.asset === undefined ? firstMint : keyOrThrow(offer.asset, 'The offer asset');
      if (!accepted.has(asset.toBase58()))
        throw new ConfigurationError(`Mint ${asset.toBase58()} is not among this Solana rail's mints.`);
      await mints.get(asset); // fail at quote time, not at payment time, for a bad mint
      const memo = offer.extra?.memo;
      if (memo !== undefined && (typeof memo !== 'string' || !memoFits(memo)))
        throw new ConfigurationError('extra.memo must be a string of at most 256 UTF-8 bytes.');
      return {
        scheme: 'exact',
        network: p.network,
        amount: BigInt(offer.amount).toString(),
        asset: asset.toBase58(),
        payTo: offer.payTo === undefined ? payTo.toBase58() : keyOrThrow(offer.payTo, 'The offer payTo').toBase58(),
        maxTimeoutSeconds: offer.maxTimeoutSeconds ?? DEFAULT_MAX_TIMEOUT_SECONDS,
        extra: { ...offer.extra, feePayer: feePayerText },
      };
    },
    paymentId(payload) {
      return paymentIdOf(decodePaymentTransaction(payload));
    },
    async verify(payload, req): Promise<VerifyResult> {
      const tx = decode(payload);
      if ('reason' in tx) return { isValid: false, ...tx };
      const inspected = await inspect(tx, req);
      if (!('transfer' in inspected)) return { isValid: false, ...inspected };
      const payer = inspected.transfer.authority.toBase58();
      // Simulated co-signed and with signature checks, as the cluster will run it: a payment that verifies
      // here but could never land would buy a handler run for nothing.
      const { signed, signature } = coSign(tx, p.feePayer);
      const [landed, fresh, simulation] = await withinRpcTimeout(
        Promise.all([
          hasLanded(p.connection, signature),
          blockhashIsValid(p.connection, tx.message.recentBlockhash),
          simulatePayment(p.connection, signed),
        ]),
        rpcTimeoutMs,
        'the payment checks',
      );
      // A cluster would report success for the duplicate: a payment already on chain is never served anew.
      if (landed)
        return {
          isValid: false,
          reason: 'already_settled',
          message: `This payment already landed as ${signature}; pay a fresh challenge.`,
          payer,
        };
      if (!fresh)
        return {
          isValid: false,
          reason: 'blockhash_expired',
          message: "The transaction's recent blockhash has expired; pay a fresh challenge.",
          payer,
        };
      if (!simulation.ok) return { isValid: false, reason: simulation.reason, message: simulation.message, payer };
      return { isValid: true, payer, amount: inspected.transfer.amount.toString() };
    },
    async findSettlement(payload, req) {
      const tx = decode(payload);
      if ('reason' in tx) return undefined;
      const inspected = await inspect(tx, req);
      if (!('transfer' in inspected)) return undefined;
      const { signature } = coSign(tx, p.feePayer);
      const status = await withinRpcTimeout(
        settledStatus(p.connection, signature),
        rpcTimeoutMs,
        'the signature status',
      );
      if (status !== 'landed') return undefined;
      // Only ever attribute the transaction that carries exactly this payment's message. A cluster that no
      // longer returns it (pruned history) leaves the signature, which is the fee payer's over this message.
      const sameMessage = await withinRpcTimeout(
        landedMessageMatches(p.connection, signature, tx.message.serialize()),
        rpcTimeoutMs,
        'the landed transaction',
      );
      if (sameMessage === false) return undefined;
      return {
        reference: signature,
        payer: inspected.transfer.authority.toBase58(),
        amount: inspected.transfer.amount.toString(),
      };
    },
    async settle(payload, req, ctx): Promise<SettleResult> {
      const tx = decode(payload);
      if ('reason' in tx) return { status: 'failed', ...tx };
      // Static checks again (cheap, no RPC but the cached mint): settle may be called without verify.
      const inspected = await inspect(tx, req);
      if (!('transfer' in inspected)) return { status: 'failed', reason: inspected.reason, message: inspected.message };
      const outcome = await settleTransaction(tx, {
        connection: p.connection,
        feePayer: p.feePayer,
        ...(p.confirmTimeoutMs === undefined ? {} : { confirmTimeoutMs: p.confirmTimeoutMs }),
        ...(p.pollIntervalMs === undefined ? {} : { pollIntervalMs: p.pollIntervalMs }),
        rpcTimeoutMs,
        ...(ctx.onBroadcast ? { onBroadcast: ctx.onBroadcast } : {}),
      });
      if (outcome.status === 'landed') {
        return {
          status: 'settled',
          reference: outcome.signature,
          payer: inspected.transfer.authority.toBase58(),
          amount: inspected.transfer.amount.toString(),
        };
      }
      if (outcome.status === 'pending')
        return { status: 'pending', reference: outcome.signature, message: outcome.message };
      return {
        status: 'failed',
        reason: outcome.reason,
        message: outcome.message,
        ...(outcome.signature === undefined ? {} : { reference: outcome.signature }),
      };
    },
  });
}
