/**
 * Attack: a payment that moves nothing. The SPL Token programs accept a TransferChecked from a token
 * account to itself (signed by its owner or a delegate) and move nothing. Whoever is a delegate of the
 * payee's token account (a sweeper, a payout service the merchant approved) "pays" from the payee's account
 * to the payee's account: the transaction is valid, simulates and lands, and the merchant is paid nothing.
 *
 * Guarantee: a payment whose source is the destination is refused at verify with 402 `self_transfer`; the
 * handler never runs and no token moves (the payee's balance and the delegate's allowance are unchanged).
 */
import {
  ComputeBudgetProgram,
  Connection,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
  type PublicKey,
} from '@solana/web3.js';
import {
  createApproveCheckedInstruction,
  createTransferCheckedInstruction,
  getAccount,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import { coSign, simulatePayment, solanaExactServer } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { fundTokenOwner, payloadOf } from '../support/solanaAdversary';

const BASE = 'http://shop.test';
const PRICE = 10_000n;
const ALLOWANCE = 1_000_000n;
let devnet: SolanaDevnet;
let serve: FetchLike;
let handlerRuns = 0;
let payeeAta: PublicKey;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  const { payee, payer2, mintAuthority, feePayer } = devnet.keypairs;
  const connection = new Connection(devnet.rpcUrl, 'confirmed');
  const rail = solanaExactServer({
    connection,
    network: devnet.network,
    feePayer,
    mints: devnet.mint,
    payTo: payee.publicKey,
    pollIntervalMs: 20,
  });
  const pw = paywall(
    { 'GET /report': { accepts: [{ rail: 'solana-spl', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  const handler = pw.wrap(async () => {
    handlerRuns += 1;
    return Response.json({ report: 'secret' });
  });
  serve = async (input, init) => handler(new Request(input, init));
  // The merchant's account holds earlier income and has approved a delegate (payer2).
  await fundTokenOwner(devnet, payee.publicKey, 50_000n);
  payeeAta = getAssociatedTokenAddressSync(devnet.mint, payee.publicKey);
  const approve = new Transaction({
    feePayer: mintAuthority.publicKey,
    ...(await devnet.connection.getLatestBlockhash()),
  });
  approve.add(
    createApproveCheckedInstruction(
      payeeAta,
      devnet.mint,
      payer2.publicKey,
      payee.publicKey,
      ALLOWANCE,
      devnet.decimals,
    ),
  );
  approve.sign(mintAuthority, payee);
  await devnet.connection.sendRawTransaction(approve.serialize());
});
afterAll(async () => {
  await devnet?.stop();
});

async function offer(): Promise<PaymentRequirements> {
  const res = await serve(`${BASE}/report`);
  const accepted = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  if (!accepted) throw new Error('no offer');
  return accepted;
}

describe('Solana: a transfer from the payee to the payee', () => {
  it('is refused at verify with self_transfer: no handler run, payee balance and allowance unchanged', async () => {
    const accepted = await offer();
    const { payer2, feePayer } = devnet.keypairs;
    const message = new TransactionMessage({
      payerKey: feePayer.publicKey,
      recentBlockhash: (await devnet.connection.getLatestBlockhash()).blockhash,
      instructions: [
        ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 }),
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }),
        createTransferCheckedInstruction(payeeAta, devnet.mint, payeeAta, payer2.publicKey, PRICE, devnet.decimals),
      ],
    }).compileToV0Message();
    const tx = new VersionedTransaction(message);
    tx.sign([payer2]);
    // The attack is real: the cluster would run it successfully.
    expect(await simulatePayment(devnet.connection, coSign(tx, feePayer).signed)).toEqual({ ok: true });

    const balance = devnet.tokenBalance(devnet.keypairs.payee.publicKey);
    handlerRuns = 0;
    const res = await serve(`${BASE}/report`, {
      headers: {
        'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted, payload: payloadOf(tx) }),
      },
    });
    expect(res.status).toBe(402);
    expect(decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error).toBe('self_transfer');
    expect(handlerRuns).toBe(0);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey)).toBe(balance);
    expect(balance).toBe(50_000n);
    expect((await getAccount(devnet.connection, payeeAta)).delegatedAmount).toBe(ALLOWANCE);
  });
});
