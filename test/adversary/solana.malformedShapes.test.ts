/**
 * Attack: transaction shapes the strict layout check reads one way and the runtime another — the transfer
 * authority in two signer slots, the authority loaded twice, the fee payer marked read-only, a second
 * transfer where the memo goes. Each is a payload that could pass a lax verify and then never land (free
 * handler runs) or land differently than inspected.
 *
 * Guarantee: each is refused at verify with 402 and a stable reason code, the handler never runs, and no
 * token or lamport moves. What a node refuses to even simulate (a read-only fee payer, an oversize
 * transaction) is a 402 too, never a 503 that would blame (and trip breakers on) the infrastructure.
 */
import { Connection, MessageV0, TransactionMessage, VersionedTransaction, type Keypair } from '@solana/web3.js';
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
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
import { payloadOf, unsignedPayment } from '../support/solanaAdversary';

const BASE = 'http://shop.test';
const PRICE = 10_000n;
let devnet: SolanaDevnet;
let serve: FetchLike;
let handlerRuns = 0;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  const connection = new Connection(devnet.rpcUrl, 'confirmed');
  const rail = solanaExactServer({
    connection,
    network: devnet.network,
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
  serve = async (input, init) => handler(new Request(input, init));
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

function signed(message: MessageV0, signers: Keypair[]): VersionedTransaction {
  const tx = new VersionedTransaction(message);
  tx.sign(signers);
  return tx;
}

/** The payment's v0 message rebuilt with edits. */
function rebuilt(m: MessageV0, edit: Partial<ConstructorParameters<typeof MessageV0>[0]>): MessageV0 {
  return new MessageV0({
    header: m.header,
    staticAccountKeys: m.staticAccountKeys,
    recentBlockhash: m.recentBlockhash,
    compiledInstructions: m.compiledInstructions,
    addressTableLookups: [],
    ...edit,
  });
}

const shapes: Array<
  [string, (accepted: PaymentRequirements) => Promise<VersionedTransaction | { transaction: string }>, string]
> = [
  [
    'the authority in a second signer slot (three signers, one key twice)',
    async (accepted) => {
      const { payer } = devnet.keypairs;
      const m = (await unsignedPayment(devnet, accepted, payer.publicKey)).message as MessageV0;
      const [feePayer, authority, ...rest] = m.staticAccountKeys;
      if (!feePayer || !authority) throw new Error('keys');
      const shift = (i: number) => (i >= 2 ? i + 1 : i);
      return signed(
        rebuilt(m, {
          header: {
            ...m.header,
            numRequiredSignatures: 3,
            numReadonlySignedAccounts: m.header.numReadonlySignedAccounts + 1,
          },
          staticAccountKeys: [feePayer, authority, payer.publicKey, ...rest],
          compiledInstructions: m.compiledInstructions.map((ix) => ({
            ...ix,
            programIdIndex: shift(ix.programIdIndex),
            accountKeyIndexes: ix.accountKeyIndexes.map(shift),
          })),
        }),
        [payer],
      );
    },
    'invalid_transaction_layout',
  ],
  [
    'the authority loaded twice (again as a non-signer)',
    async (accepted) => {
      const { payer } = devnet.keypairs;
      const m = (await unsignedPayment(devnet, accepted, payer.publicKey)).message as MessageV0;
      return signed(rebuilt(m, { staticAccountKeys: [...m.staticAccountKeys, payer.publicKey] }), [payer]);
    },
    'invalid_transaction_layout',
  ],
  [
    'the fee payer marked read-only',
    async (accepted) => {
      const { payer } = devnet.keypairs;
      const m = (await unsignedPayment(devnet, accepted, payer.publicKey)).message as MessageV0;
      return signed(rebuilt(m, { header: { ...m.header, numReadonlySignedAccounts: 2 } }), [payer]);
    },
    'invalid_transaction_layout',
  ],
  [
    'a transaction larger than a packet (a valid payment padded to 1,300 bytes)',
    async (accepted) => {
      const { payer } = devnet.keypairs;
      const tx = await unsignedPayment(devnet, accepted, payer.publicKey);
      tx.sign([payer]);
      const bytes = tx.serialize();
      return { transaction: Buffer.concat([bytes, Buffer.alloc(1_300 - bytes.length)]).toString('base64') };
    },
    'invalid_payload',
  ],
  [
    'a second TransferChecked in the memo slot (to the payer2)',
    async (accepted) => {
      const { payer, payer2 } = devnet.keypairs;
      const base = await unsignedPayment(devnet, accepted, payer.publicKey);
      const message = TransactionMessage.decompile(base.message);
      const from = getAssociatedTokenAddressSync(devnet.mint, payer.publicKey);
      message.instructions[3] = createTransferCheckedInstruction(
        from,
        devnet.mint,
        getAssociatedTokenAddressSync(devnet.mint, payer2.publicKey),
        payer.publicKey,
        1n,
        devnet.decimals,
      );
      const tx = new VersionedTransaction(message.compileToV0Message());
      tx.sign([payer]);
      return tx;
    },
    'unexpected_instruction',
  ],
];

describe('Solana: malformed payment transaction shapes', () => {
  for (const [name, make, reason] of shapes) {
    it(`refuses ${name} at verify with 402 "${reason}"; no handler run, nothing moves`, async () => {
      const accepted = await offer();
      const made = await make(accepted);
      const payload = made instanceof VersionedTransaction ? payloadOf(made) : made;
      const before = {
        payer: devnet.tokenBalance(devnet.keypairs.payer.publicKey),
        payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey),
        feePayer: await devnet.connection.getBalance(devnet.keypairs.feePayer.publicKey),
      };
      handlerRuns = 0;
      const res = await serve(`${BASE}/report`, {
        headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted, payload }) },
      });
      expect(res.status).toBe(402);
      expect(decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error).toBe(reason);
      expect(handlerRuns).toBe(0);
      expect({
        payer: devnet.tokenBalance(devnet.keypairs.payer.publicKey),
        payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey),
        feePayer: await devnet.connection.getBalance(devnet.keypairs.feePayer.publicKey),
      }).toEqual(before);
    });
  }

  it('a transaction the node refuses to simulate (-32602, as Agave answers for a read-only fee payer) is a 402 simulation_failed, not a 503', async () => {
    const accepted = await offer();
    const { payer, feePayer } = devnet.keypairs;
    const m = (await unsignedPayment(devnet, accepted, payer.publicKey)).message as MessageV0;
    const tx = signed(rebuilt(m, { header: { ...m.header, numReadonlySignedAccounts: 2 } }), [payer]);
    expect(await simulatePayment(devnet.connection, coSign(tx, feePayer).signed)).toMatchObject({
      ok: false,
      reason: 'simulation_failed',
    });
  });
});
