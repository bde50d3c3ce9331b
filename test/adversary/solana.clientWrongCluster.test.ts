/**
 * Attack (on the client): a Solana transaction names no cluster; it lands wherever its recent blockhash is
 * known. A malicious server labels its offer with another cluster's CAIP-2 id (a test cluster the client's
 * policy treats as play money, or one with a looser budget), while the client's wallet is connected to the
 * cluster where its money is. The client builds the transaction on its own connection, and the server lands it
 * there: real money moves, counted against the other network's budget.
 *
 * Guarantee: the Solana client signs only when its wallet's connection reaches the offer's network (genesis
 * hash). Otherwise it refuses before signing (`network_mismatch`), the paying fetch throws, and the wallet's
 * balance does not move.
 */
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentInvalidError, createReceiptSigner, payingFetch, paywall, type FetchLike } from '../../src/index';
import { solanaExactClient, solanaExactServer } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { solanaWalletFor } from '../support/solanaHarness';

const BASE = 'http://shop.test';
const PRICE = 10_000n;
/** Solana devnet's real CAIP-2 id: the label the malicious server puts on its offer. */
const OTHER_CLUSTER = 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1';
let devnet: SolanaDevnet;
let handlerRuns = 0;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

/** A paywall whose Solana rail settles on `devnet` but labels its offers `network`. */
async function shop(network: `solana:${string}`): Promise<FetchLike> {
  const rail = solanaExactServer({
    connection: new Connection(devnet.rpcUrl, 'confirmed'),
    network,
    feePayer: devnet.keypairs.feePayer,
    mints: devnet.mint,
    payTo: devnet.keypairs.payee.publicKey,
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
  return async (input, init) => handler(new Request(input, init));
}

describe('Solana client: an offer labelled with another cluster', () => {
  it('is refused before signing (network_mismatch); the wallet does not pay', async () => {
    const payer = devnet.tokenBalance(devnet.keypairs.payer.publicKey);
    const payee = devnet.tokenBalance(devnet.keypairs.payee.publicKey);
    handlerRuns = 0;
    const pay = payingFetch(await shop(OTHER_CLUSTER), {
      adapters: [solanaExactClient()],
      wallets: [solanaWalletFor(devnet, 'payer')],
    });
    const error = await pay(`${BASE}/report`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PaymentInvalidError);
    expect(error instanceof PaymentInvalidError ? error.reason : undefined).toBe('network_mismatch');
    expect(handlerRuns).toBe(0);
    expect(devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(payer);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey)).toBe(payee);
  });

  it('pays an offer labelled with the cluster the wallet reaches', async () => {
    const payer = devnet.tokenBalance(devnet.keypairs.payer.publicKey);
    handlerRuns = 0;
    const pay = payingFetch(await shop(devnet.network), {
      adapters: [solanaExactClient()],
      wallets: [solanaWalletFor(devnet, 'payer')],
    });
    expect((await pay(`${BASE}/report`)).status).toBe(200);
    expect(handlerRuns).toBe(1);
    expect(payer - devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(PRICE);
  });
});
