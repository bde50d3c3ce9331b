/**
 * Attack (facilitator): the same re-signing trick against an x402 facilitator. A resource server (or the
 * payer through it) sends 5 concurrent `/settle` calls, each with a differently re-signed copy of one Solana
 * payment (same message, different valid payer signatures). Keyed by signature, each copy was its own payment
 * and each `/settle` answered success with the one landed transaction: five "settled" answers for one
 * transfer, five services downstream.
 *
 * Guarantee: the facilitator keys Solana payments by the message, so exactly one `/settle` succeeds, the others
 * answer `payment_already_used` (or in progress), the payee is paid exactly once, and `/verify` of any copy
 * afterwards is invalid (`already_settled`).
 */
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentRequirements } from '../../src/index';
import { createFacilitator, type Facilitator } from '../../src/facilitator/index';
import { solanaExactServer } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { payloadOf, signWithNonce, unsignedPayment, withSignature } from '../support/solanaAdversary';

const PRICE = 10_000n;
let devnet: SolanaDevnet;
let facilitator: Facilitator;
let requirements: PaymentRequirements;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  const rail = solanaExactServer({
    connection: new Connection(devnet.rpcUrl, 'confirmed'),
    network: devnet.network,
    feePayer: devnet.keypairs.feePayer,
    mints: devnet.mint,
    payTo: devnet.keypairs.payee.publicKey,
    pollIntervalMs: 20,
  });
  facilitator = createFacilitator({ rails: [rail] });
  requirements = await rail.quote(
    { rail: 'solana-spl', amount: PRICE },
    {
      request: { method: 'GET', url: 'http://shop.test/report', bodyHash: '' },
      resource: { url: 'http://shop.test/report' },
      now: Date.now(),
    },
  );
});
afterAll(async () => {
  await devnet?.stop();
});

function call(path: '/verify' | '/settle', payload: { transaction: string }): Promise<Record<string, unknown>> {
  const body = {
    x402Version: 2,
    paymentPayload: { x402Version: 2, accepted: requirements, payload },
    paymentRequirements: requirements,
  };
  return facilitator
    .fetch(
      new Request(`http://facilitator.test${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    )
    .then((res) => res.json() as Promise<Record<string, unknown>>);
}

describe('Solana facilitator: re-signed copies of one payment', () => {
  it('5 concurrent /settle calls: one success, the payee paid once, every copy invalid afterwards', async () => {
    const { payer, payee } = devnet.keypairs;
    const tx = await unsignedPayment(devnet, requirements, payer.publicKey);
    const message = tx.message.serialize();
    const copies = Array.from({ length: 5 }, (_, i) =>
      payloadOf(withSignature(tx, payer.publicKey, signWithNonce(payer, message, 104_729n * BigInt(i + 1)))),
    );
    expect(new Set(copies.map((c) => c.transaction)).size).toBe(5);
    for (const copy of copies) expect(await call('/verify', copy)).toMatchObject({ isValid: true });

    const before = { payer: devnet.tokenBalance(payer.publicKey), payee: devnet.tokenBalance(payee.publicKey) };
    const answers = await Promise.all(copies.map((copy) => call('/settle', copy)));
    expect(answers.filter((a) => a['success'] === true)).toHaveLength(1);
    for (const refused of answers.filter((a) => a['success'] !== true))
      expect(['payment_already_used', 'settlement_in_progress']).toContain(refused['errorReason']);
    expect(devnet.tokenBalance(payee.publicKey) - before.payee).toBe(PRICE);
    expect(before.payer - devnet.tokenBalance(payer.publicKey)).toBe(PRICE);
    for (const copy of copies)
      expect(await call('/verify', copy)).toMatchObject({ isValid: false, invalidReason: 'already_settled' });
  });
});
