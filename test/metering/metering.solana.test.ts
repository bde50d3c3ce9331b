/**
 * Metered usage on the Solana devnet (litesvm behind JSON-RPC): one SPL deposit, metered calls off chain, and
 * a close whose SPL TransferChecked from the server's token account returns exactly the unused amount (token
 * balances), once.
 */
import { Connection } from '@solana/web3.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solanaExactClient, solanaExactServer, solanaRefunder } from '../../adapters/solana/index';
import { startSolanaDevnet, type SolanaDevnet } from '../../fixtures/solana/index';
import { verifyReceipt } from '../../src/core/receipt';
import { decodeMeteringReceipt } from '../../src/metering/meteringReceipt';
import { solanaWalletFor } from '../support/solanaHarness';
import { ORIGIN, devnetMetering, type DevnetMetering } from './devnetMetering';

const DEPOSIT = 50_000n; // 0.05 token (6 decimals)
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
    confirmTimeoutMs: 10_000,
    pollIntervalMs: 20,
  });
  const refunder = solanaRefunder({ connection, owner: payee, feePayer, confirmTimeoutMs: 10_000, pollIntervalMs: 20 });
  server = await devnetMetering({ rail, deposit: DEPOSIT, maxUnitsPerCall: 100n, unitPrice: 100n, refunder });
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => ({
  payer: devnet.tokenBalance(devnet.keypairs.payer.publicKey),
  payee: devnet.tokenBalance(devnet.keypairs.payee.publicKey),
});

describe('metered usage on the Solana devnet', () => {
  it('deposit once, meter calls off chain, refund exactly the unused amount on close, once', async () => {
    const client = server.client({ adapters: [solanaExactClient()], wallets: [solanaWalletFor(devnet, 'payer')] });
    const start = balances();
    const llm = (units: string) => client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': units } });
    const seen: string[] = [];
    for (const units of ['12', '100', '3']) {
      const res = await llm(units);
      expect(res.status).toBe(200);
      const receipt = await verifyReceipt(
        decodeMeteringReceipt(res.headers.get('X402-Metering-Receipt')),
        server.pw.jwks(),
      );
      expect(receipt.payer).toBe(devnet.keypairs.payer.publicKey.toBase58());
      seen.push(`${receipt.metering?.charged}:${receipt.metering?.used}/${receipt.metering?.remaining}`);
    }
    expect(seen).toEqual(['1200:1200/48800', '10000:11200/38800', '300:11500/38500']);
    expect(balances()).toEqual({ payer: start.payer - DEPOSIT, payee: start.payee + DEPOSIT });

    const [closed] = await client.close(ORIGIN);
    expect(closed?.refund).toMatchObject({ status: 'sent', amount: '38500' });
    const final = await verifyReceipt(closed?.receipt, server.pw.jwks());
    expect(final.metering).toMatchObject({
      final: true,
      used: '11500',
      refund: { amount: '38500', status: 'sent', reference: closed?.refund.reference },
    });
    const afterClose = balances();
    expect(afterClose).toEqual({ payer: start.payer - 11_500n, payee: start.payee + 11_500n });

    const again = await server.meter.close(closed?.session ?? '');
    expect(again?.refund).toEqual(closed?.refund);
    expect(balances()).toEqual(afterClose);
  });

  it('an exhausted session answers 402 with a fresh challenge; the client pays a second deposit and both refunds land', async () => {
    const client = server.client({ adapters: [solanaExactClient()], wallets: [solanaWalletFor(devnet, 'payer2')] });
    const payer2 = () => devnet.tokenBalance(devnet.keypairs.payer2.publicKey);
    const start = payer2();
    const first = await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '100' } });
    const session = first.headers.get('X402-Metering-Session') ?? '';
    for (let i = 0; i < 4; i++) await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '100' } }); // 50,000: all used
    const refused = await server.fetch(`${ORIGIN}/llm`, {
      method: 'POST',
      headers: { 'X402-Metering-Session': session },
    });
    expect(refused.status).toBe(402);
    expect(refused.headers.get('X402-Metering-Error')).toBe('metering_exhausted');
    expect(refused.headers.get('PAYMENT-REQUIRED')).not.toBeNull();
    expect(payer2()).toBe(start - DEPOSIT);
    const next = await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '1' } });
    expect(next.status).toBe(200);
    expect(payer2()).toBe(start - 2n * DEPOSIT);
    const closed = await client.close(ORIGIN);
    expect(closed.map((c) => c.refund.status + ':' + c.refund.amount)).toEqual(['none:0', 'sent:49900']);
    expect(payer2()).toBe(start - DEPOSIT - 100n);
  });
});
