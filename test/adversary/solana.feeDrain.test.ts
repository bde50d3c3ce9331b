/**
 * Attack: unpaid requests cost the server. The fee payer pays each settlement's fee, 5,000 lamports per
 * signature plus the priority fee the PAYER chose (compute-unit limit × price / 1e6). Under the compute caps
 * alone (price ≤ 5,000,000 µlamports, limit ≤ 200,000) a payer of a 0.01-token item makes the fee payer spend
 * 1,010,000 lamports per settlement.
 *
 * Guarantee: the fee a settlement can cost the fee payer is capped (`maxFeeLamports`, default 20,000; a
 * function of the offer to follow the price). A payment over the cap is refused at verify with 402
 * `fee_too_high`: the handler never runs and the fee payer's lamports do not move. A payment within the cap
 * settles and costs the fee payer exactly its fee.
 */
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import { solanaExactServer, type SolanaExactServerParameters } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { payloadOf, unsignedPayment } from '../support/solanaAdversary';

const BASE = 'http://shop.test';
const PRICE = 10_000n;
let devnet: SolanaDevnet;
let handlerRuns = 0;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

/** A paywall on `GET /report` with a Solana rail configured by `options`. */
async function shop(options: Partial<SolanaExactServerParameters> = {}): Promise<FetchLike> {
  const connection = new Connection(devnet.rpcUrl, 'confirmed');
  const rail = solanaExactServer({
    connection,
    network: devnet.network,
    feePayer: devnet.keypairs.feePayer,
    mints: devnet.mint,
    payTo: devnet.keypairs.payee.publicKey,
    pollIntervalMs: 20,
    ...options,
  });
  const pw = paywall(
    { 'GET /report': { accepts: [{ rail: 'solana-spl', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  const handler = pw.wrap(async () => {
    handlerRuns += 1;
    return Response.json({ report: 'secret' });
  });
  return async (input, init) => handler(new Request(input, init));
}

async function offerOf(serve: FetchLike): Promise<PaymentRequirements> {
  const res = await serve(`${BASE}/report`);
  const accepted = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  if (!accepted) throw new Error('no offer');
  return accepted;
}

/** Pays `GET /report` with a transaction of the given compute budget, signed by the payer. */
async function payWithBudget(serve: FetchLike, computeUnitLimit: number, computeUnitPrice: bigint): Promise<Response> {
  const accepted = await offerOf(serve);
  const tx = await unsignedPayment(devnet, accepted, devnet.keypairs.payer.publicKey, {
    computeUnitLimit,
    computeUnitPrice,
  });
  tx.sign([devnet.keypairs.payer]);
  return serve(`${BASE}/report`, {
    headers: {
      'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted, payload: payloadOf(tx) }),
    },
  });
}

const reasonOf = (res: Response) => decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error;
const feePayerLamports = () => devnet.connection.getBalance(devnet.keypairs.feePayer.publicKey);

describe('Solana: the fee a payer can make the fee payer spend', () => {
  it('refuses the maximum compute budget (1,010,000 lamports of fee) 20 times: 402 fee_too_high, no handler run, fee payer untouched', async () => {
    const serve = await shop();
    const before = { lamports: await feePayerLamports(), payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey) };
    handlerRuns = 0;
    for (let i = 0; i < 20; i += 1) {
      const res = await payWithBudget(serve, 200_000, 5_000_000n);
      expect(res.status).toBe(402);
      expect(reasonOf(res)).toBe('fee_too_high');
    }
    expect(handlerRuns).toBe(0);
    expect(await feePayerLamports()).toBe(before.lamports);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey)).toBe(before.payee);
  });

  it('settles a payment within the default cap; the fee payer spends exactly its fee (10,000 + 1,000 priority)', async () => {
    const serve = await shop();
    const before = { lamports: await feePayerLamports(), payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey) };
    handlerRuns = 0;
    const res = await payWithBudget(serve, 20_000, 50_000n); // priority fee: 20,000 × 50,000 / 1e6 = 1,000
    expect(res.status).toBe(200);
    expect(handlerRuns).toBe(1);
    expect(before.lamports - (await feePayerLamports())).toBe(11_000);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey) - before.payee).toBe(PRICE);
  });

  it('the default cap refuses a 20,001-lamport fee and settles a 20,000 one; a cap that follows the price refuses what the default allows', async () => {
    // 10,000 base + ceil(20,000 × 500,001 / 1e6) = 20,001 > 20,000.
    const serve = await shop();
    const lamports = await feePayerLamports();
    const over = await payWithBudget(serve, 20_000, 500_001n);
    expect([over.status, reasonOf(over)]).toEqual([402, 'fee_too_high']);
    const edge = await payWithBudget(serve, 20_000, 500_000n); // exactly 20,000
    expect(edge.status).toBe(200);
    expect(lamports - (await feePayerLamports())).toBe(20_000);

    // At most 1 lamport of priority fee per 10 atomic units of the price: 10,000 + 1,000 for this offer.
    const relative = await shop({ maxFeeLamports: (req) => 10_000n + BigInt(req.amount) / 10n });
    const start = await feePayerLamports();
    handlerRuns = 0;
    const refused = await payWithBudget(relative, 20_000, 100_000n); // 2,000 of priority
    expect([refused.status, reasonOf(refused)]).toEqual([402, 'fee_too_high']);
    expect(handlerRuns).toBe(0);
    expect(await feePayerLamports()).toBe(start);
    const within = await payWithBudget(relative, 20_000, 50_000n); // 1,000 of priority
    expect(within.status).toBe(200);
    expect(start - (await feePayerLamports())).toBe(11_000);
  });

  it('refuses at startup a constant cap below the base fee of a payment (10,000), which would refuse every payment', async () => {
    await expect(shop({ maxFeeLamports: 9_999n })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(shop({ maxFeeLamports: 10_000 })).resolves.toBeTypeOf('function');
  });
});
