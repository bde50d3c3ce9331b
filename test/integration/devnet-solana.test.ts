import { createServer } from 'node:net';
import {
  ComputeBudgetProgram,
  Connection,
  Keypair,
  PublicKey,
  SendTransactionError,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from '@solana/web3.js';
import {
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { getBase58Decoder } from '@solana/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devnetKeypair, startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';

let devnet: SolanaDevnet;
let startMs = 0;

beforeAll(async () => {
  const started = performance.now();
  devnet = await startSolanaDevnet();
  startMs = performance.now() - started;
});

afterAll(async () => {
  await devnet?.stop();
});

interface TransferParameters {
  readonly from: Keypair;
  readonly to: PublicKey;
  readonly amount: bigint;
  readonly mint?: PublicKey;
  readonly programId?: PublicKey;
  readonly blockhash?: string;
}

/** The x402 `exact` layout: limit, price, transferChecked; authority signs first, fee payer co-signs the wire bytes. */
async function buildTransfer(
  parameters: TransferParameters,
): Promise<{ tx: VersionedTransaction; blockhash: string; lastValidBlockHeight: number }> {
  const mint = parameters.mint ?? devnet.mint;
  const programId = parameters.programId ?? TOKEN_PROGRAM_ID;
  const latest = await devnet.connection.getLatestBlockhash();
  const blockhash = parameters.blockhash ?? latest.blockhash;
  const feePayer = devnet.keypairs.feePayer;
  const message = new TransactionMessage({
    payerKey: feePayer.publicKey,
    recentBlockhash: blockhash,
    instructions: [
      ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1_000 }),
      createTransferCheckedInstruction(
        getAssociatedTokenAddressSync(mint, parameters.from.publicKey, false, programId),
        mint,
        getAssociatedTokenAddressSync(mint, parameters.to, false, programId),
        parameters.from.publicKey,
        parameters.amount,
        devnet.decimals,
        [],
        programId,
      ),
    ],
  }).compileToV0Message();
  const partiallySigned = new VersionedTransaction(message);
  partiallySigned.sign([parameters.from]);
  const tx = VersionedTransaction.deserialize(partiallySigned.serialize());
  tx.sign([feePayer]);
  return { tx, blockhash, lastValidBlockHeight: latest.lastValidBlockHeight };
}

async function sendAndConfirm(built: Awaited<ReturnType<typeof buildTransfer>>): Promise<string> {
  const signature = await devnet.connection.sendRawTransaction(built.tx.serialize());
  const confirmation = await devnet.connection.confirmTransaction({
    signature,
    blockhash: built.blockhash,
    lastValidBlockHeight: built.lastValidBlockHeight,
  });
  expect(confirmation.value.err).toBeNull();
  return signature;
}

async function rpc(body: string): Promise<unknown> {
  const response = await fetch(devnet.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function expectSendError(promise: Promise<unknown>): Promise<SendTransactionError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SendTransactionError);
  if (!(error instanceof SendTransactionError)) throw new Error('unreachable');
  return error;
}

describe('Solana devnet through an unmodified web3.js Connection', () => {
  it('starts with funded wallets and answers cluster queries', async () => {
    const { connection, keypairs } = devnet;
    expect(devnet.network).toBe(`solana:${devnet.genesisHash.slice(0, 32)}`);
    expect(await connection.getGenesisHash()).toBe(devnet.genesisHash);
    const latest = await connection.getLatestBlockhash();
    expect(latest.blockhash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    expect(latest.lastValidBlockHeight).toBeGreaterThan(await connection.getBlockHeight());
    expect((await connection.isBlockhashValid(latest.blockhash)).value).toBe(true);
    expect(await connection.getBalance(keypairs.feePayer.publicKey)).toBe(100e9);
    expect(await connection.getBalance(keypairs.payee.publicKey)).toBe(0);
    expect(devnet.tokenBalance(keypairs.payer.publicKey)).toBe(1_000_000_000n);
    expect(devnet.tokenBalance(keypairs.payer.publicKey, devnet.mint2022)).toBe(1_000_000_000n);
    expect(devnet.tokenBalance(keypairs.poor.publicKey)).toBe(0n);
    const payeeAta = getAssociatedTokenAddressSync(devnet.mint, keypairs.payee.publicKey);
    expect((await connection.getTokenAccountBalance(payeeAta)).value).toMatchObject({ amount: '0', decimals: 6 });
    const mintInfo = await connection.getAccountInfo(devnet.mint2022);
    expect(mintInfo?.owner.equals(TOKEN_2022_PROGRAM_ID)).toBe(true);
    const [payerAta, missing] = await connection.getMultipleAccountsInfo([
      getAssociatedTokenAddressSync(devnet.mint, keypairs.payer.publicKey),
      Keypair.generate().publicKey,
    ]);
    expect(payerAta?.data.length).toBe(165);
    expect(missing).toBeNull();
    expect(await connection.getMinimumBalanceForRentExemption(165)).toBeGreaterThan(0);
    expect((await connection.getVersion())['solana-core']).toBeTypeOf('string');
    // The slot moves on a timer, so the two reads may straddle one tick.
    const epochSlot = (await connection.getEpochInfo()).absoluteSlot;
    const slot = await connection.getSlot();
    expect(slot - epochSlot).toBeGreaterThanOrEqual(0);
    expect(slot - epochSlot).toBeLessThanOrEqual(1);
  });

  it('keeps wallet and mint addresses deterministic across runs', () => {
    expect(devnet.keypairs.payer.publicKey.equals(devnetKeypair('payer').publicKey)).toBe(true);
    expect(devnet.mint.equals(devnetKeypair('mint').publicKey)).toBe(true);
    expect(devnet.mint2022.equals(devnetKeypair('mint2022').publicKey)).toBe(true);
  });

  it('moves SPL tokens exactly with a fee-payer co-signed versioned transfer', async () => {
    const { connection, keypairs } = devnet;
    const payerBefore = devnet.tokenBalance(keypairs.payer.publicKey);
    const payeeBefore = devnet.tokenBalance(keypairs.payee.publicKey);
    const feePayerSol = await connection.getBalance(keypairs.feePayer.publicKey);
    const payerSol = await connection.getBalance(keypairs.payer.publicKey);
    const built = await buildTransfer({ from: keypairs.payer, to: keypairs.payee.publicKey, amount: 1_234_567n });
    const fee = (await connection.getFeeForMessage(built.tx.message)).value;
    expect(fee).toBe(2 * 5000 + 20); // 2 signatures + ceil(1000 µ-lamports × 20,000 CU / 1e6)
    const signature = await sendAndConfirm(built);
    expect(devnet.tokenBalance(keypairs.payer.publicKey)).toBe(payerBefore - 1_234_567n);
    expect(devnet.tokenBalance(keypairs.payee.publicKey)).toBe(payeeBefore + 1_234_567n);
    expect(await connection.getBalance(keypairs.payer.publicKey)).toBe(payerSol);
    expect(await connection.getBalance(keypairs.feePayer.publicKey)).toBe(feePayerSol - (fee ?? 0));

    const landed = await connection.getTransaction(signature, {
      maxSupportedTransactionVersion: 0,
      commitment: 'confirmed',
    });
    expect(landed?.transaction.message.staticAccountKeys[0]?.equals(keypairs.feePayer.publicKey)).toBe(true);
    expect(landed?.meta?.err).toBeNull();
    expect(landed?.meta?.fee).toBe(fee);
    expect(landed?.slot).toBeGreaterThan(0);
    const status = await connection.getSignatureStatus(signature, { searchTransactionHistory: true });
    expect(status.value?.slot).toBe(landed?.slot);
  });

  it('moves Token-2022 tokens exactly, and a legacy sendAndConfirmTransaction works', async () => {
    const { connection, keypairs } = devnet;
    const before = devnet.tokenBalance(keypairs.payee.publicKey, devnet.mint2022);
    const built = await buildTransfer({
      from: keypairs.payer2,
      to: keypairs.payee.publicKey,
      amount: 500_000n,
      mint: devnet.mint2022,
      programId: TOKEN_2022_PROGRAM_ID,
    });
    await sendAndConfirm(built);
    expect(devnet.tokenBalance(keypairs.payee.publicKey, devnet.mint2022)).toBe(before + 500_000n);
    expect(devnet.tokenBalance(keypairs.payer2.publicKey, devnet.mint2022)).toBe(1_000_000_000n - 500_000n);

    const legacy = new Transaction().add(
      createTransferCheckedInstruction(
        getAssociatedTokenAddressSync(devnet.mint2022, keypairs.payer2.publicKey, false, TOKEN_2022_PROGRAM_ID),
        devnet.mint2022,
        getAssociatedTokenAddressSync(devnet.mint2022, keypairs.payee.publicKey, false, TOKEN_2022_PROGRAM_ID),
        keypairs.payer2.publicKey,
        1n,
        devnet.decimals,
        [],
        TOKEN_2022_PROGRAM_ID,
      ),
    );
    legacy.feePayer = keypairs.feePayer.publicKey;
    await sendAndConfirmTransaction(connection, legacy, [keypairs.feePayer, keypairs.payer2]);
    expect(devnet.tokenBalance(keypairs.payee.publicKey, devnet.mint2022)).toBe(before + 500_001n);
  });

  it('rejects a transfer beyond the balance with SendTransactionError and program logs, moving nothing', async () => {
    const { connection, keypairs } = devnet;
    const feePayerSol = await connection.getBalance(keypairs.feePayer.publicKey);
    const built = await buildTransfer({ from: keypairs.poor, to: keypairs.payee.publicKey, amount: 1n });
    const error = await expectSendError(connection.sendRawTransaction(built.tx.serialize()));
    expect(error.message).toContain('custom program error: 0x1');
    expect(error.logs?.join('\n')).toMatch(/insufficient funds/i);
    expect(devnet.tokenBalance(keypairs.poor.publicKey)).toBe(0n);
    expect(await connection.getBalance(keypairs.feePayer.publicKey)).toBe(feePayerSol);
    expect(
      (await connection.getSignatureStatus(bs58Signature(built.tx), { searchTransactionHistory: true })).value,
    ).toBeNull();
  });

  it('lands a failing transfer sent with skipPreflight as a failed transaction, as a cluster does', async () => {
    const { connection, keypairs } = devnet;
    const built = await buildTransfer({ from: keypairs.poor, to: keypairs.payee.publicKey, amount: 1n });
    const signature = await connection.sendRawTransaction(built.tx.serialize(), { skipPreflight: true });
    const confirmation = await connection.confirmTransaction({
      signature,
      blockhash: built.blockhash,
      lastValidBlockHeight: built.lastValidBlockHeight,
    });
    expect(confirmation.value.err).toEqual({ InstructionError: [2, { Custom: 1 }] });
    const landed = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
    expect(landed?.meta?.err).toEqual({ InstructionError: [2, { Custom: 1 }] });
    expect(landed?.meta?.logMessages?.join('\n')).toMatch(/insufficient funds/i);
    expect(devnet.tokenBalance(keypairs.poor.publicKey)).toBe(0n);
  });

  it('rejects a tampered signature as a signature verification failure', async () => {
    const { connection, keypairs } = devnet;
    const built = await buildTransfer({ from: keypairs.payer, to: keypairs.payee.publicKey, amount: 1n });
    const raw = built.tx.serialize();
    const at = 1 + 64 + 5; // inside the payer's (second) signature
    raw[at] = (raw[at] ?? 0) ^ 0xff;
    const before = devnet.tokenBalance(keypairs.payee.publicKey);
    await expect(connection.sendRawTransaction(raw)).rejects.toThrow(/signature verification failure/);
    expect(devnet.tokenBalance(keypairs.payee.publicKey)).toBe(before);
  });

  it('rejects an expired blockhash with "Blockhash not found"', async () => {
    const { connection, keypairs } = devnet;
    const built = await buildTransfer({ from: keypairs.payer, to: keypairs.payee.publicKey, amount: 1n });
    const before = devnet.tokenBalance(keypairs.payee.publicKey);
    devnet.expireBlockhashes();
    expect((await connection.isBlockhashValid(built.blockhash)).value).toBe(false);
    expect(await connection.getBlockHeight()).toBeGreaterThan(built.lastValidBlockHeight);
    const error = await expectSendError(connection.sendRawTransaction(built.tx.serialize()));
    expect(error.message).toContain('Blockhash not found');
    expect((await connection.simulateTransaction(built.tx)).value.err).toBe('BlockhashNotFound');
    expect(devnet.tokenBalance(keypairs.payee.publicKey)).toBe(before);
  });

  it('executes a duplicate submission once and reports AlreadyProcessed', async () => {
    const { connection, keypairs } = devnet;
    const before = devnet.tokenBalance(keypairs.payee.publicKey);
    const built = await buildTransfer({ from: keypairs.payer, to: keypairs.payee.publicKey, amount: 7n });
    const raw = built.tx.serialize();
    const signature = await sendAndConfirm(built);
    const first = await connection.getSignatureStatus(signature);
    const error = await expectSendError(connection.sendRawTransaction(raw));
    expect(error.message).toContain('already been processed');
    expect(await connection.sendRawTransaction(raw, { skipPreflight: true })).toBe(signature);
    expect((await connection.getSignatureStatus(signature)).value?.slot).toBe(first.value?.slot);
    expect(devnet.tokenBalance(keypairs.payee.publicKey)).toBe(before + 7n);
  });

  it('simulates with sigVerify, replaceRecentBlockhash and accounts', async () => {
    const { connection, keypairs } = devnet;
    const built = await buildTransfer({ from: keypairs.payer, to: keypairs.payee.publicKey, amount: 3n });
    const payeeAta = getAssociatedTokenAddressSync(devnet.mint, keypairs.payee.publicKey);
    const simulated = await connection.simulateTransaction(built.tx, {
      sigVerify: true,
      accounts: { encoding: 'base64', addresses: [payeeAta.toBase58()] },
    });
    expect(simulated.value.err).toBeNull();
    expect(simulated.value.unitsConsumed).toBeGreaterThan(0);
    expect(simulated.value.logs?.length).toBeGreaterThan(0);
    expect(simulated.value.accounts?.[0]?.owner).toBe(TOKEN_PROGRAM_ID.toBase58());
    const unsigned = new VersionedTransaction(built.tx.message);
    const replaced = await connection.simulateTransaction(unsigned, { sigVerify: false, replaceRecentBlockhash: true });
    expect(replaced.value.err).toBeNull();
    await expect(connection.simulateTransaction(unsigned, { sigVerify: true })).rejects.toThrow(
      /signature verification/,
    );
    expect(devnet.tokenBalance(keypairs.payer.publicKey)).toBe(devnet.tokenBalance(keypairs.payer.publicKey));
  });

  it('confirms an airdrop through requestAirdrop', async () => {
    const { connection } = devnet;
    const fresh = Keypair.generate().publicKey;
    const signature = await connection.requestAirdrop(fresh, 2e9);
    const latest = await connection.getLatestBlockhash();
    await connection.confirmTransaction({ signature, ...latest });
    expect(await connection.getBalance(fresh)).toBe(2e9);
  });

  it('answers unsupported methods, bad params, bad encodings and malformed JSON as JSON-RPC errors', async () => {
    expect(await rpc('{"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":[]}')).toMatchObject({
      id: 1,
      error: { code: -32601, message: expect.stringContaining('getProgramAccounts') },
    });
    expect(await rpc('{"jsonrpc":"2.0","id":2,"method":"getBalance","params":["not a key"]}')).toMatchObject({
      id: 2,
      error: { code: -32602 },
    });
    expect(await rpc('{"jsonrpc":"2.0","id":3,"method":"getBalance","params":{"x":1}}')).toMatchObject({
      error: { code: -32602 },
    });
    expect(
      await rpc('{"jsonrpc":"2.0","id":4,"method":"sendTransaction","params":["!!!",{"encoding":"base64"}]}'),
    ).toMatchObject({ error: { code: -32602 } });
    expect(
      await rpc('{"jsonrpc":"2.0","id":5,"method":"sendTransaction","params":["AAAA",{"encoding":"base64"}]}'),
    ).toMatchObject({ error: { code: -32602 } });
    expect(
      await rpc(
        `{"jsonrpc":"2.0","id":6,"method":"getAccountInfo","params":["${devnet.mint.toBase58()}",{"encoding":"jsonParsed"}]}`,
      ),
    ).toMatchObject({ error: { code: -32602, message: expect.stringContaining('jsonParsed') } });
    expect(await rpc('{"jsonrpc":"2.0","id":7,"method":"getSignatureStatuses","params":[["zz"]]}')).toMatchObject({
      error: { code: -32602 },
    });
    expect(await rpc('{"jsonrpc": "2.0", "id": 8, "method": ')).toMatchObject({ id: null, error: { code: -32700 } });
    expect(
      await rpc('[{"jsonrpc":"2.0","id":9,"method":"getSlot"},{"jsonrpc":"2.0","id":10,"method":"getHealth"}]'),
    ).toMatchObject([
      { id: 9, result: expect.any(Number) },
      { id: 10, result: 'ok' },
    ]);
    expect(await devnet.connection.getSlot()).toBeGreaterThan(0);
  });

  it('accepts base58 sendTransaction bodies', async () => {
    const { keypairs } = devnet;
    const built = await buildTransfer({ from: keypairs.payer2, to: keypairs.payee.publicKey, amount: 2n });
    const before = devnet.tokenBalance(keypairs.payee.publicKey);
    const answer = await rpc(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sendTransaction', params: [bs58(built.tx.serialize())] }),
    );
    expect(answer).toMatchObject({ result: bs58Signature(built.tx) });
    expect(devnet.tokenBalance(keypairs.payee.publicKey)).toBe(before + 2n);
  });

  it('measures per-transfer time', async () => {
    const rounds = 20;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      await sendAndConfirm(
        await buildTransfer({ from: devnet.keypairs.payer, to: devnet.keypairs.payee.publicKey, amount: 1n }),
      );
    }
    const perTransfer = (performance.now() - started) / rounds;
    console.log(
      `[solana devnet] start ${startMs.toFixed(0)} ms; build+send+confirm per transfer ${perTransfer.toFixed(1)} ms (${rounds} rounds)`,
    );
    expect(perTransfer).toBeLessThan(1000);
  });

  it('stop() frees the port', async () => {
    const other = await startSolanaDevnet({ slotIntervalMs: 0 });
    const port = Number(new URL(other.rpcUrl).port);
    // No wsEndpoint: web3.js looks for PubSub on port + 1, where the devnet listens.
    const connection = new Connection(other.rpcUrl, 'confirmed');
    const tx = new Transaction().add(
      createTransferCheckedInstruction(
        getAssociatedTokenAddressSync(other.mint, other.keypairs.payer.publicKey),
        other.mint,
        getAssociatedTokenAddressSync(other.mint, other.keypairs.payee.publicKey),
        other.keypairs.payer.publicKey,
        5n,
        other.decimals,
      ),
    );
    tx.feePayer = other.keypairs.feePayer.publicKey;
    await sendAndConfirmTransaction(connection, tx, [other.keypairs.feePayer, other.keypairs.payer]);
    expect(other.tokenBalance(other.keypairs.payee.publicKey)).toBe(5n);
    await other.stop();
    for (const candidate of [port, port + 1]) {
      await new Promise<void>((resolve, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen(candidate, '127.0.0.1', () => probe.close(() => resolve()));
      });
    }
  });
});

function bs58(bytes: Uint8Array): string {
  return getBase58Decoder().decode(bytes);
}

function bs58Signature(tx: VersionedTransaction): string {
  const first = tx.signatures[0];
  if (first === undefined) throw new Error('unsigned');
  return bs58(first);
}
