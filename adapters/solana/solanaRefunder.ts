import { PublicKey, type Connection, type Keypair } from '@solana/web3.js';
import { RailUnavailableError } from '../../src/index';
import { buildExactTransaction } from './buildExactTransaction';
import { readMintInfo } from './mintInfo';
import { settleTransaction } from './settleTransaction';

/** Parameters of {@link solanaRefunder}. */
export type SolanaRefunderParameters = {
  connection: Connection;
  /** Owner of the server's token account (the deposits' `payTo`); signs each refund as transfer authority. */
  owner: Keypair;
  /** Pays the transaction fee (the rail's fee payer). */
  feePayer: Keypair;
  /** How long to wait for confirmation (default 30 s). */
  confirmTimeoutMs?: number;
  /** Delay between status polls (default 100 ms). */
  pollIntervalMs?: number;
};

/** What a refund asks (structurally the metering extension's RefundRequest). */
type Refund = { session: string; payer: string; asset: string; amount: bigint };
type Refunded = { status: 'sent'; reference: string } | { status: 'refused'; reason: string; message: string };

/**
 * Metered usage refunds on Solana: an SPL `TransferChecked` of the deposit's mint from the server's associated
 * token account to the payer's, with the memo `x402-refund:<session>`, signed by the owner and the fee payer
 * and confirmed by polling (the rail's own settlement path). `refused` when nothing was paid; throws when the
 * transaction may have landed but was not confirmed in time.
 *
 * @example
 * const refunds = { 'solana-spl': solanaRefunder({ connection, owner: payeeKeypair, feePayer }) };
 */
export function solanaRefunder(parameters: SolanaRefunderParameters): {
  readonly needsDestination: false;
  refund(request: Refund): Promise<Refunded>;
} {
  return {
    needsDestination: false,
    async refund(r) {
      let payer: PublicKey;
      let mint: PublicKey;
      try {
        payer = new PublicKey(r.payer);
        mint = new PublicKey(r.asset);
      } catch {
        return {
          status: 'refused',
          reason: 'invalid_address',
          message: 'The deposit payer or mint is not a Solana address.',
        };
      }
      let tx;
      try {
        const { programId, decimals } = await readMintInfo(parameters.connection, mint);
        const { blockhash } = await parameters.connection.getLatestBlockhash('confirmed');
        tx = buildExactTransaction({
          payer: parameters.owner.publicKey,
          feePayer: parameters.feePayer.publicKey,
          mint,
          tokenProgram: programId,
          decimals,
          payTo: payer,
          amount: r.amount,
          recentBlockhash: blockhash,
          memo: `x402-refund:${r.session}`.slice(0, 200),
        });
      } catch (error) {
        return {
          status: 'refused',
          reason: 'rail_unavailable',
          message: error instanceof Error ? error.message : 'The refund could not be built.',
        };
      }
      tx.sign([parameters.owner]);
      let result;
      try {
        result = await settleTransaction(tx, {
          connection: parameters.connection,
          feePayer: parameters.feePayer,
          confirmTimeoutMs: parameters.confirmTimeoutMs ?? 30_000,
          pollIntervalMs: parameters.pollIntervalMs ?? 100,
        });
      } catch (error) {
        // settleTransaction throws only when the RPC failed before anything was sent.
        if (error instanceof RailUnavailableError)
          return { status: 'refused', reason: 'rail_unavailable', message: error.message };
        throw error;
      }
      if (result.status === 'landed') return { status: 'sent', reference: result.signature };
      if (result.status === 'failed') return { status: 'refused', reason: result.reason, message: result.message };
      throw new RailUnavailableError(
        `Refund ${result.signature} may have landed but was not confirmed: ${result.message}`,
        { rail: 'solana-spl', status: 502, details: { reference: result.signature } },
      );
    },
  };
}
