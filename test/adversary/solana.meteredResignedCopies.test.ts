/**
 * Attack: one Solana deposit, many metering sessions. The payer re-signs one deposit transaction (same
 * message, different valid Ed25519 signatures) and sends a copy with each of 5 concurrent metered requests.
 * Keyed by signature, each copy opened a session credited with the whole deposit and each close refunded it:
 * one 50,000 deposit became several refunds of 49,900 out of the merchant's account.
 *
 * Guarantee: the copies are one payment (keyed by the transaction message): one session is opened, the
 * others are refused (402), closing it refunds exactly deposit − usage once, and the merchant keeps exactly
 * the usage.
 */
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader, type PaymentRequirements } from '../../src/index';
import { meteringHeaders } from '../../src/metering/meteringHeaders';
import { solanaExactServer, solanaRefunder } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { ORIGIN, devnetMetering, type DevnetMetering } from '../metering/devnetMetering';
import { payloadOf, signWithNonce, unsignedPayment, withSignature } from '../support/solanaAdversary';

const DEPOSIT = 50_000n;
const UNIT_PRICE = 100n;
let devnet: SolanaDevnet;
let server: DevnetMetering;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  const connection = new Connection(devnet.rpcUrl, { commitment: 'confirmed' });
  const { feePayer, payee } = devnet.keypairs;
  const rail = solanaExactServer({
    connection,
    network: devnet.network,
    feePayer,
    mints: [devnet.mint],
    payTo: payee.publicKey,
    pollIntervalMs: 20,
  });
  const refunder = solanaRefunder({ connection, owner: payee, feePayer, confirmTimeoutMs: 10_000, pollIntervalMs: 20 });
  server = await devnetMetering({ rail, deposit: DEPOSIT, maxUnitsPerCall: 100n, unitPrice: UNIT_PRICE, refunder });
});
afterAll(async () => {
  await devnet?.stop();
});

async function offerFor(url: string): Promise<PaymentRequirements> {
  const res = await server.fetch(url, { method: 'POST' });
  expect(res.status).toBe(402);
  const accepted = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  if (!accepted) throw new Error('no offer');
  return accepted;
}

describe('Solana metering: re-signed copies of one deposit', () => {
  it('5 concurrent copies open one session; its close refunds deposit − usage once; the merchant keeps the usage', async () => {
    const { payer, payee } = devnet.keypairs;
    const balances = () => ({
      payer: devnet.tokenBalance(payer.publicKey),
      payee: devnet.tokenBalance(payee.publicKey),
    });
    const start = balances();
    const urls = Array.from({ length: 5 }, (_, i) => `${ORIGIN}/llm?call=${i}`);
    const offers = await Promise.all(urls.map((url) => offerFor(url)));
    const first = offers[0];
    if (!first) throw new Error('no offer');
    const tx = await unsignedPayment(devnet, first, payer.publicKey);
    const message = tx.message.serialize();
    const copies = urls.map((_, i) =>
      withSignature(tx, payer.publicKey, signWithNonce(payer, message, 7_919n * BigInt(i + 1))),
    );
    expect(new Set(copies.map((c) => Buffer.from(c.signatures[1] ?? []).toString('hex'))).size).toBe(5);

    const answers = await Promise.all(
      copies.map((copy, i) =>
        server.fetch(urls[i] ?? '', {
          method: 'POST',
          headers: {
            'x-units': '1',
            'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
              x402Version: 2,
              accepted: offers[i] ?? first,
              payload: payloadOf(copy),
            }),
          },
        }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 402, 402, 402, 402]);
    const sessions = answers.map((r) => r.headers.get(meteringHeaders.session)).filter((s): s is string => s !== null);
    expect(sessions).toHaveLength(1);
    expect(balances()).toEqual({ payer: start.payer - DEPOSIT, payee: start.payee + DEPOSIT });

    // Closing the one session refunds deposit − usage (1 unit × 100) once; closing it again moves nothing.
    const close = () =>
      server.fetch(`${ORIGIN}/llm`, {
        method: 'POST',
        headers: { [meteringHeaders.session]: sessions[0] ?? '', [meteringHeaders.close]: '1' },
      });
    const closed = await close();
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({
      refund: { status: 'sent', amount: (DEPOSIT - UNIT_PRICE).toString() },
    });
    expect(balances()).toEqual({ payer: start.payer - UNIT_PRICE, payee: start.payee + UNIT_PRICE });
    await close();
    expect(balances()).toEqual({ payer: start.payer - UNIT_PRICE, payee: start.payee + UNIT_PRICE });
  });
});
