import { createHash } from 'node:crypto';
import { Connection, VersionedTransaction } from '@solana/web3.js';
import { TOKEN_2022_PROGRAM_ID } from '@solana/spl-token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHALLENGE_FIELD,
  RailUnavailableError,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  payingFetch,
  receiptOf,
  verifyReceipt,
  type FetchLike,
  type PaymentRequirements,
  type Paywall,
  type ServerRail,
} from '../../src/index';
import { evmClients } from '../../adapters/evm/index';
import { base58Encode, solanaExactClient, solanaExactServer, type SolanaWallet } from '../../adapters/solana/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startSolanaDevnet, type SolanaDevnet, type SolanaWalletName } from '../../fixtures/solana/index';
import {
  SOL_PRICE,
  evmWalletFor,
  handMadePayment,
  lamportTransfer,
  solanaPaywall,
  solanaWalletFor,
} from '../support/solanaHarness';

const BASE = 'http://shop.test';
let devnet: SolanaDevnet;
let pw: Paywall;
let serverFetch: FetchLike;
let rail: ServerRail;

beforeAll(async () => {
  devnet = await startSolanaDevnet();
  ({ pw, fetch: serverFetch, rail } = await solanaPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

/** Token balances of payer and payee in both mints, and the fee payer's SOL. */
async function balances() {
  const { payer, payee, feePayer, poor } = devnet.keypairs;
  return {
    payer: devnet.tokenBalance(payer.publicKey),
    payee: devnet.tokenBalance(payee.publicKey),
    payer2022: devnet.tokenBalance(payer.publicKey, devnet.mint2022),
    payee2022: devnet.tokenBalance(payee.publicKey, devnet.mint2022),
    poor: devnet.tokenBalance(poor.publicKey),
    feePayerLamports: await devnet.connection.getBalance(feePayer.publicKey),
  };
}

async function challenge(path: string): Promise<PaymentRequirements> {
  const res = await serverFetch(`${BASE}${path}`);
  expect(res.status).toBe(402);
  const offer = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
  if (!offer) throw new Error('no offer');
  return offer;
}

function sendPayment(path: string, offer: PaymentRequirements, payload: Record<string, unknown>): Promise<Response> {
  return serverFetch(`${BASE}${path}`, {
    headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload }) },
  });
}

function reasonOf(res: Response): string | undefined {
  const header = res.headers.get('PAYMENT-REQUIRED');
  return header ? decodePaymentRequiredHeader(header).error : undefined;
}

async function clientPayload(
  offer: PaymentRequirements,
  wallet: SolanaWalletName = 'payer',
): Promise<Record<string, unknown>> {
  return solanaExactClient().createPayment(offer, solanaWalletFor(devnet, wallet), {
    resource: { url: BASE },
    x402Version: 2,
    now: Date.now(),
  });
}

describe('Solana rail on the litesvm devnet', () => {
  it('quotes the official exact SVM requirements', async () => {
    const { [CHALLENGE_FIELD]: token, ...extra } = (await challenge('/paid/sol')).extra;
    expect(typeof token).toBe('string');
    const offer = { ...(await challenge('/paid/sol')), extra };
    expect(offer).toEqual({
      scheme: 'exact',
      network: devnet.network,
      amount: SOL_PRICE.toString(),
      asset: devnet.mint.toBase58(),
      payTo: devnet.keypairs.payee.publicKey.toBase58(),
      maxTimeoutSeconds: 60,
      extra: { feePayer: devnet.keypairs.feePayer.publicKey.toBase58() },
    });
  });

  for (const [label, path, mint2022] of [
    ['the SPL Token mint', '/paid/sol', false],
    ['the Token-2022 mint', '/paid/sol2022', true],
  ] as const) {
    it(`pays with ${label} end to end and returns a verified receipt whose reference is the on-chain signature`, async () => {
      const before = await balances();
      const pay = payingFetch(serverFetch, {
        adapters: [solanaExactClient()],
        wallets: [solanaWalletFor(devnet, 'payer')],
      });
      const started = performance.now();
      const res = await pay(`${BASE}${path}`);
      const elapsed = performance.now() - started;
      expect(res.status).toBe(200);
      const outcome = receiptOf(res);
      expect(outcome?.receiptError).toBeUndefined();
      const receipt = outcome?.receipt;
      expect(receipt).toMatchObject({
        rail: 'solana-spl',
        scheme: 'exact',
        network: devnet.network,
        asset: (mint2022 ? devnet.mint2022 : devnet.mint).toBase58(),
        amount: SOL_PRICE.toString(),
        payer: devnet.keypairs.payer.publicKey.toBase58(),
        payee: devnet.keypairs.payee.publicKey.toBase58(),
        status: 'settled',
      });
      const reference = receipt?.reference ?? '';
      const landed = devnet.ledger.history.get(reference);
      expect(landed?.err).toBeNull();
      const { value } = await devnet.connection.getSignatureStatuses([reference], { searchTransactionHistory: true });
      expect(value[0]?.err).toBeNull();
      const after = await balances();
      if (mint2022) {
        expect(before.payer2022 - after.payer2022).toBe(SOL_PRICE);
        expect(after.payee2022 - before.payee2022).toBe(SOL_PRICE);
        expect(after.payer).toBe(before.payer);
      } else {
        expect(before.payer - after.payer).toBe(SOL_PRICE);
        expect(after.payee - before.payee).toBe(SOL_PRICE);
        expect(after.payer2022).toBe(before.payer2022);
      }
      await expect(
        verifyReceipt(outcome?.signedReceipt, pw.jwks(), { request: { method: 'GET', url: `${BASE}${path}` } }),
      ).resolves.toBeTruthy();
      console.info(`[solana] paid request (${label}) in ${elapsed.toFixed(1)} ms`);
    });
  }

  it('carries extra.memo and refuses a payment without it', async () => {
    const offer = await challenge('/paid/memo');
    expect(offer.extra.memo).toBe('order-42');
    const ok = await sendPayment('/paid/memo', offer, await clientPayload(offer));
    expect(ok.status).toBe(200);
    const other = await challenge('/paid/memo');
    const wrong = await sendPayment(
      '/paid/memo',
      other,
      await handMadePayment(devnet, other, devnet.keypairs.payer, { memo: 'order-43' }),
    );
    expect(reasonOf(wrong)).toBe('memo_mismatch');
  });

  const rejections: Array<[string, (offer: PaymentRequirements) => Promise<Record<string, unknown>>, string]> = [
    ['a transfer of another mint', (o) => clientPayload({ ...o, asset: devnet.mint2022.toBase58() }), 'asset_mismatch'],
    [
      'a transfer to another destination',
      (o) => clientPayload({ ...o, payTo: devnet.keypairs.payer2.publicKey.toBase58() }),
      'payee_mismatch',
    ],
    ['a transfer of another amount', (o) => clientPayload({ ...o, amount: '1' }), 'amount_mismatch'],
    ['wrong decimals', (o) => handMadePayment(devnet, o, devnet.keypairs.payer, { decimals: 5 }), 'decimals_mismatch'],
    [
      'the fee payer as source (transfer authority)',
      (o) => handMadePayment(devnet, o, devnet.keypairs.feePayer, { signers: [] }),
      'fee_payer_is_transfer_party',
    ],
    [
      'an extra instruction injected',
      (o) =>
        handMadePayment(devnet, o, devnet.keypairs.payer, {
          inject: lamportTransfer(devnet.keypairs.payer.publicKey, devnet.keypairs.payer2.publicKey),
        }),
      'unexpected_instruction',
    ],
    [
      'the fee payer inside an instruction',
      (o) =>
        handMadePayment(devnet, o, devnet.keypairs.payer, {
          edit: (m) => void (m.instructions[2]!.keys[2]!.pubkey = devnet.keypairs.feePayer.publicKey),
        }),
      'fee_payer_in_instruction',
    ],
    [
      'a memo instruction replaced by another program',
      (o) =>
        handMadePayment(devnet, o, devnet.keypairs.payer, {
          edit: (m) =>
            void (m.instructions[3] = lamportTransfer(
              devnet.keypairs.payer.publicKey,
              devnet.keypairs.payer2.publicKey,
            )),
        }),
      'unexpected_instruction',
    ],
    [
      'a transfer through another token program than the mint’s',
      (o) => handMadePayment(devnet, o, devnet.keypairs.payer, { tokenProgram: TOKEN_2022_PROGRAM_ID }),
      'token_program_mismatch',
    ],
    [
      'a compute price above the cap',
      (o) => handMadePayment(devnet, o, devnet.keypairs.payer, { computeUnitPrice: 5_000_001n }),
      'compute_price_too_high',
    ],
    [
      'a compute limit above the cap',
      (o) => handMadePayment(devnet, o, devnet.keypairs.payer, { computeUnitLimit: 1_400_000 }),
      'compute_limit_too_high',
    ],
    ['insufficient funds', (o) => clientPayload(o, 'poor'), 'insufficient_funds'],
    [
      'a missing payer signature',
      (o) => handMadePayment(devnet, o, devnet.keypairs.payer, { signers: [] }),
      'missing_signature',
    ],
    [
      'a payer signature from another key',
      (o) => handMadePayment(devnet, o, devnet.keypairs.payer, { forgeWith: devnet.keypairs.payer2 }),
      'invalid_signature',
    ],
    [
      'a transaction for another fee payer',
      (o) => clientPayload({ ...o, extra: { feePayer: devnet.keypairs.payer2.publicKey.toBase58() } }),
      'fee_payer_mismatch',
    ],
    ['a payload that is not base64', async () => ({ transaction: 'not base64!' }), 'invalid_payload'],
    ['a payload that is not a transaction', async () => ({ transaction: 'AAAA' }), 'invalid_payload'],
    ['a payload without a transaction', async () => ({ tx: 'AAAA' }), 'invalid_payload'],
  ];
  for (const [name, make, reason] of rejections) {
    it(`rejects ${name} with 402 "${reason}" and moves nothing`, async () => {
      const before = await balances();
      const offer = await challenge('/paid/sol');
      const res = await sendPayment('/paid/sol', offer, await make(offer));
      expect(res.status).toBe(402);
      expect(reasonOf(res)).toBe(reason);
      expect(res.headers.get('PAYMENT-RESPONSE')).toBeNull();
      expect(await balances()).toEqual(before);
    });
  }

  it('rejects an expired blockhash with "blockhash_expired" and moves nothing', async () => {
    const before = await balances();
    const offer = await challenge('/paid/sol');
    const payload = await clientPayload(offer);
    devnet.expireBlockhashes();
    const res = await sendPayment('/paid/sol', offer, payload);
    expect(res.status).toBe(402);
    expect(reasonOf(res)).toBe('blockhash_expired');
    expect(await balances()).toEqual(before);
  });

  it('settles the same payment sent 10 times concurrently exactly once', async () => {
    const before = await balances();
    const offer = await challenge('/paid/sol');
    const payload = await clientPayload(offer);
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendPayment('/paid/sol', offer, payload)));
    const paid = answers.filter((r) => r.status === 200);
    expect(paid.length).toBeGreaterThanOrEqual(1);
    expect(new Set(paid.map((r) => r.headers.get('PAYMENT-RESPONSE'))).size).toBe(1);
    // Past the bounded replay (src/server/processPayment.ts), a repeat gets 409 with the receipt and no service.
    for (const r of answers) expect([200, 402, 409]).toContain(r.status);
    expect(before.payer - devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(SOL_PRICE);
    expect(devnet.tokenBalance(devnet.keypairs.payee.publicKey) - before.payee).toBe(SOL_PRICE);
  });

  it('deduplicates at the rail: concurrent settles share one transaction, a landed one is never sent again', async () => {
    const before = await balances();
    const offer = await challenge('/paid/sol');
    const payload = await clientPayload(offer);
    const ctx = { request: { method: 'GET', url: `${BASE}/paid/sol`, bodyHash: '' }, now: Date.now(), paymentId: 'x' };
    const results = await Promise.all(Array.from({ length: 10 }, () => rail.settle(payload, offer, ctx)));
    const references = new Set(results.map((r) => (r.status === 'settled' ? r.reference : r.status)));
    expect(references.size).toBe(1);
    // A second rail instance (another process) sees the landed signature and answers it without sending.
    const other = solanaExactServer({
      connection: new Connection(devnet.rpcUrl, 'confirmed'),
      network: devnet.network,
      feePayer: devnet.keypairs.feePayer,
      mints: devnet.mint,
      payTo: devnet.keypairs.payee.publicKey,
    });
    const again = await other.settle(payload, offer, ctx);
    expect(again).toEqual(results[0]);
    // …but verify refuses to accept it as a new payment.
    expect(await other.verify(payload, offer, ctx)).toMatchObject({ isValid: false, reason: 'already_settled' });
    expect(before.payer - devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(SOL_PRICE);
  });

  it('never serves a landed payment again, even after the paywall lost its store', async () => {
    const challengeSecret = crypto.getRandomValues(new Uint8Array(32));
    const first = await solanaPaywall(devnet, { challengeSecret });
    const offerRes = await first.fetch(`${BASE}/paid/sol`);
    const offer = decodePaymentRequiredHeader(offerRes.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
    if (!offer) throw new Error('no offer');
    const header = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: offer,
      payload: await clientPayload(offer),
    });
    expect((await first.fetch(`${BASE}/paid/sol`, { headers: { 'PAYMENT-SIGNATURE': header } })).status).toBe(200);
    const before = await balances();
    const restarted = await solanaPaywall(devnet, { challengeSecret }); // same secret, fresh memory store
    const replay = await restarted.fetch(`${BASE}/paid/sol`, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(replay.status).toBe(402);
    expect(reasonOf(replay)).toBe('already_settled');
    expect(await balances()).toEqual(before);
  });

  describe('failure injection on the settling RPC', () => {
    /** A connection whose transport fails on demand, after the node has handled the call or before. */
    function flakyConnection(fail: (method: string, sent: boolean) => 'drop_reply' | 'refuse' | undefined): Connection {
      let sent = false;
      const flaky: typeof fetch = async (input, init) => {
        const method = String((JSON.parse(String(init?.body ?? '{}')) as { method?: unknown }).method);
        const mode = fail(method, sent);
        if (mode === 'refuse') throw new TypeError('fetch failed (injected)');
        const res = await fetch(input, init);
        if (method === 'sendTransaction') sent = true;
        if (mode === 'drop_reply') throw new TypeError('socket hang up (injected)');
        return res;
      };
      return new Connection(devnet.rpcUrl, { commitment: 'confirmed', fetch: flaky });
    }
    const railOn = (connection: Connection) =>
      solanaExactServer({
        connection,
        network: devnet.network,
        feePayer: devnet.keypairs.feePayer,
        mints: [devnet.mint],
        payTo: devnet.keypairs.payee.publicKey,
        confirmTimeoutMs: 300,
        pollIntervalMs: 20,
      });
    const ctx = { request: { method: 'GET', url: `${BASE}/paid/sol`, bodyHash: '' }, now: Date.now(), paymentId: 'x' };

    it('settles when the reply to sendTransaction is lost after the node took it', async () => {
      const offer = await challenge('/paid/sol');
      const payload = await clientPayload(offer);
      const before = devnet.tokenBalance(devnet.keypairs.payer.publicKey);
      const result = await railOn(flakyConnection((m) => (m === 'sendTransaction' ? 'drop_reply' : undefined))).settle(
        payload,
        offer,
        ctx,
      );
      expect(result.status).toBe('settled');
      expect(before - devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(SOL_PRICE);
    });

    it('answers pending with the signature when confirmation cannot be read, and settles once on a later call', async () => {
      const offer = await challenge('/paid/sol');
      const payload = await clientPayload(offer);
      const before = devnet.tokenBalance(devnet.keypairs.payer.publicKey);
      const blind = railOn(flakyConnection((m, sent) => (m === 'getSignatureStatuses' && sent ? 'refuse' : undefined)));
      const first = await blind.settle(payload, offer, ctx);
      expect(first.status).toBe('pending');
      const later = await rail.settle(payload, offer, ctx);
      expect(later).toMatchObject({ status: 'settled', reference: first.status === 'pending' ? first.reference : '' });
      expect(before - devnet.tokenBalance(devnet.keypairs.payer.publicKey)).toBe(SOL_PRICE);
    });
  });

  it('verify has no side effects', async () => {
    const offer = await challenge('/paid/sol');
    const payload = await clientPayload(offer);
    const before = await balances();
    const ctx = { request: { method: 'GET', url: `${BASE}/paid/sol`, bodyHash: '' }, now: Date.now(), paymentId: 'x' };
    for (let i = 0; i < 3; i += 1)
      expect(await rail.verify(payload, offer, ctx)).toMatchObject({ isValid: true, amount: SOL_PRICE.toString() });
    expect(await balances()).toEqual(before);
  });

  it('throws RailUnavailableError when the RPC is unreachable before sending', async () => {
    const offer = await challenge('/paid/sol');
    const payload = await clientPayload(offer);
    const dead = solanaExactServer({
      connection: new Connection('http://127.0.0.1:9', 'confirmed'),
      network: devnet.network,
      feePayer: devnet.keypairs.feePayer,
      mints: [devnet.mint],
      payTo: devnet.keypairs.payee.publicKey,
    });
    const ctx = { request: { method: 'GET', url: `${BASE}/paid/sol`, bodyHash: '' }, now: Date.now(), paymentId: 'x' };
    const before = await balances();
    await expect(dead.verify(payload, offer, ctx)).rejects.toBeInstanceOf(RailUnavailableError);
    await expect(dead.settle(payload, offer, ctx)).rejects.toBeInstanceOf(RailUnavailableError);
    expect(await balances()).toEqual(before);
  });

  it('keys a payment by its transaction message (base58 SHA-256), not by a signature the payer can vary', async () => {
    const offer = await challenge('/paid/sol');
    const payload = await clientPayload(offer);
    const id = rail.paymentId(payload, offer);
    const tx = VersionedTransaction.deserialize(Buffer.from(String(payload['transaction']), 'base64'));
    expect(id).toBe(base58Encode(createHash('sha256').update(tx.message.serialize()).digest()));
    expect(id).toMatch(/^[1-9A-HJ-NP-Za-km-z]{43,44}$/);
    expect(rail.paymentId(payload, offer)).toBe(id);
    expect(() => rail.paymentId({ transaction: '%%' }, offer)).toThrow(/malformed/);
  });
});

describe('cross-rail negotiation: EVM first, then Solana', () => {
  let evm: EvmDevnet;
  let multiFetch: FetchLike;
  let solWallet: SolanaWallet;

  beforeAll(async () => {
    evm = await startEvmDevnet();
    ({ fetch: multiFetch } = await solanaPaywall(devnet, { evm }));
    solWallet = solanaWalletFor(devnet, 'payer2');
  });
  afterAll(async () => {
    await evm?.stop();
  });

  it('offers EVM first and Solana second', async () => {
    const res = await multiFetch(`${BASE}/paid/multi`);
    const { accepts } = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
    expect(accepts.map((a) => a.network)).toEqual([evm.network, devnet.network]);
  });

  it('a client with only a Solana wallet pays on Solana', async () => {
    const before = devnet.tokenBalance(devnet.keypairs.payer2.publicKey);
    const pay = payingFetch(multiFetch, { adapters: [...evmClients(), solanaExactClient()], wallets: [solWallet] });
    const res = await pay(`${BASE}/paid/multi`);
    expect(res.status).toBe(200);
    expect(receiptOf(res)?.receipt).toMatchObject({ rail: 'solana-spl', network: devnet.network, status: 'settled' });
    expect(before - devnet.tokenBalance(devnet.keypairs.payer2.publicKey)).toBe(SOL_PRICE);
  });

  it('a client with both wallets pays on EVM by default and on Solana when it prefers solana', async () => {
    const wallets = [evmWalletFor(evm, 'payer2'), solWallet];
    const adapters = [...evmClients(), solanaExactClient()];
    const byDefault = await payingFetch(multiFetch, { adapters, wallets })(`${BASE}/paid/multi`);
    expect(receiptOf(byDefault)?.receipt?.rail).toBe('evm-eip3009');
    const before = devnet.tokenBalance(devnet.keypairs.payer2.publicKey);
    const evmBefore = await evm.balanceOf(evm.accounts.payer2.address);
    const preferred = await payingFetch(multiFetch, { adapters, wallets, prefer: ['solana'] })(`${BASE}/paid/multi`);
    expect(preferred.status).toBe(200);
    expect(receiptOf(preferred)?.receipt).toMatchObject({ rail: 'solana-spl', network: devnet.network });
    expect(before - devnet.tokenBalance(devnet.keypairs.payer2.publicKey)).toBe(SOL_PRICE);
    expect(await evm.balanceOf(evm.accounts.payer2.address)).toBe(evmBefore);
  });
});
