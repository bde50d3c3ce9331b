/**
 * The Solana rail through the conformance kit on the litesvm devnet (started through `x402-rails/devnet`), once
 * for the SPL Token mint and once for the Token-2022 mint.
 */
import { Keypair, type PublicKey } from '@solana/web3.js';
import {
  base58Encode,
  decodePaymentTransaction,
  encodePaymentTransaction,
  solanaExactClient,
  solanaExactServer,
} from '../../adapters/solana/index';
import { startDevnets } from '../../fixtures/index';
import type { SolanaDevnet } from '../../fixtures/solana/index';
import type { Receipt } from '../../src/index';
import { describeRailConformance, type RailConformanceSetup } from '../../src/testing/index';
import { handMadePayment, solanaWalletFor } from '../support/solanaHarness';

/** Throws unless the receipt's reference is a landed transaction moving `amount` of its mint from payer to payee. */
async function checkLanded(devnet: SolanaDevnet, receipt: Receipt): Promise<void> {
  const tx = await devnet.connection.getTransaction(receipt.reference, {
    maxSupportedTransactionVersion: 0,
    commitment: 'confirmed',
  });
  if (!tx?.meta || tx.meta.err !== null) throw new Error(`Settlement ${receipt.reference} did not land cleanly.`);
  const { preTokenBalances = [], postTokenBalances = [] } = tx.meta;
  const change = (owner: string) => {
    const amount = (list: typeof preTokenBalances) =>
      BigInt(list?.find((b) => b.owner === owner && b.mint === receipt.asset)?.uiTokenAmount.amount ?? '0');
    return amount(postTokenBalances) - amount(preTokenBalances);
  };
  const amount = BigInt(receipt.amount);
  if (change(receipt.payer) !== -amount || change(receipt.payee) !== amount) {
    throw new Error(
      `Settlement ${receipt.reference} does not move ${receipt.amount} of ${receipt.asset} from the payer to the payee.`,
    );
  }
}

for (const [label, pick] of [
  ['SPL Token', (d: SolanaDevnet) => ({ mint: d.mint, other: d.mint2022 })],
  ['Token-2022', (d: SolanaDevnet) => ({ mint: d.mint2022, other: d.mint })],
] as const) {
  await describeRailConformance(`Solana exact (${label}) on litesvm`, async (): Promise<RailConformanceSetup> => {
    const devnets = await startDevnets({ evm: false, solana: true, lightning: false });
    const devnet = devnets.solana;
    const { mint, other }: { mint: PublicKey; other: PublicKey } = pick(devnet);
    const { payer, payer2, payee } = devnet.keypairs;
    const server = solanaExactServer({
      connection: devnet.connection,
      network: devnet.network,
      feePayer: devnet.keypairs.feePayer,
      mints: [devnet.mint, devnet.mint2022],
      payTo: payee.publicKey,
      confirmTimeoutMs: 10_000,
      pollIntervalMs: 20,
    });
    return {
      server,
      client: solanaExactClient(),
      wallet: solanaWalletFor(devnet, 'payer'),
      secondWallet: solanaWalletFor(devnet, 'payer2'),
      offer: { amount: 10_000n, asset: mint.toBase58() },
      balances: async () => ({
        payer: devnet.tokenBalance(payer.publicKey, mint),
        payee: devnet.tokenBalance(payee.publicKey, mint),
      }),
      payer: payer.publicKey.toBase58(),
      payee: payee.publicKey.toBase58(),
      checkSettlement: (receipt) => checkLanded(devnet, receipt),
      variants: { payTo: payer2.publicKey.toBase58(), asset: other.toBase58() },
      hooks: {
        // The network is not inside a Solana transaction: a payment made on another cluster is one whose recent
        // blockhash this cluster never issued.
        payOnOtherNetwork: (offer) =>
          handMadePayment(devnet, offer, payer, {
            recentBlockhash: base58Encode(Keypair.generate().publicKey.toBytes()),
          }),
        // Validity is the blockhash, not a client clock: the payment is made, then every blockhash handed out expires.
        payExpired: async (offer, kit) => {
          const payload = await kit.pay(offer);
          devnet.expireBlockhashes();
          return payload;
        },
        // The generic tamper lands in the account keys (caught as fee_payer_mismatch before any signature is
        // checked); change what the payer signed instead, one byte of the memo, and keep the signatures.
        tamper: (payload) => {
          const tx = decodePaymentTransaction(payload);
          const memo = tx.message.compiledInstructions.at(-1);
          if (!memo || memo.data.length === 0) throw new Error('The payment carries no memo to tamper with.');
          memo.data[0] = memo.data[0] === 0x61 ? 0x62 : 0x61;
          return encodePaymentTransaction(tx);
        },
      },
      expectReasons: {
        wrongAmount: 'amount_mismatch',
        wrongPayee: 'payee_mismatch',
        wrongNetwork: 'blockhash_expired',
        wrongAsset: 'asset_mismatch',
        expired: 'blockhash_expired',
        tamperedPayload: 'invalid_signature',
        malformedPayment: 'invalid_payload',
        crossRouteReplay: ['challenge_invalid', 'payment_already_used'],
      },
      teardown: () => devnets.stop(),
    };
  });
}
