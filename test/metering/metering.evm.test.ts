/**
 * Metered usage on anvil: one EIP-3009 deposit, metered calls that move no tokens, 30 concurrent calls racing
 * at the end of the balance, and a close whose ERC-20 refund from the server's wallet returns exactly the
 * unused amount (token balances), once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client, evmEip3009Server, evmRefunder } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { verifyReceipt } from '../../src/core/receipt';
import { decodeMeteringReceipt } from '../../src/metering/meteringReceipt';
import { walletFor } from '../support/evmHarness';
import { ORIGIN, devnetMetering, type DevnetMetering } from './devnetMetering';

const DEPOSIT = 100_000n; // 0.1 rUSD
let devnet: EvmDevnet;
let server: DevnetMetering;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const settler = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  };
  const rail = evmEip3009Server({
    ...settler,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  });
  const refunder = evmRefunder({
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('payee'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  });
  server = await devnetMetering({ rail, deposit: DEPOSIT, maxUnitsPerCall: 1_000n, unitPrice: 10n, refunder });
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

describe('metered usage on the EVM devnet', () => {
  it('deposit once, meter calls off chain, refund exactly the unused amount on close, once', async () => {
    const client = server.client({ adapters: [evmEip3009Client()], wallets: [walletFor(devnet, 'payer')] });
    const start = await balances();
    const llm = (units: string) =>
      client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': units }, body: 'prompt' });
    const used: string[] = [];
    for (const units of ['123', '1000', '7', '450']) {
      const res = await llm(units);
      expect(res.status).toBe(200);
      const receipt = await verifyReceipt(
        decodeMeteringReceipt(res.headers.get('X402-Metering-Receipt')),
        server.pw.jwks(),
      );
      used.push(`${receipt.metering?.used}/${receipt.metering?.remaining}`);
    }
    expect(used).toEqual(['1230/98770', '11230/88770', '11300/88700', '15800/84200']);
    const afterCalls = await balances();
    expect(afterCalls).toEqual({ payer: start.payer - DEPOSIT, payee: start.payee + DEPOSIT });

    const [closed] = await client.close(ORIGIN);
    expect(closed?.refund).toMatchObject({ status: 'sent', amount: '84200' });
    expect(closed?.refund.reference).toMatch(/^0x[0-9a-f]{64}$/);
    const final = await verifyReceipt(closed?.receipt, server.pw.jwks());
    expect(final.metering).toMatchObject({ final: true, used: '15800', refund: { amount: '84200', status: 'sent' } });
    const afterClose = await balances();
    expect(afterClose).toEqual({ payer: start.payer - 15_800n, payee: start.payee + 15_800n });

    // Closing again (operator side and client side) answers the recorded close; no second transfer.
    const again = await server.meter.close(closed?.session ?? '');
    expect(again?.receipt).toEqual(closed?.receipt);
    expect(await balances()).toEqual(afterClose);
  });

  it('30 concurrent calls racing at the end of the balance never pass the deposit; the refund is what is left', async () => {
    const client = server.client({ adapters: [evmEip3009Client()], wallets: [walletFor(devnet, 'payer2')] });
    const payer2 = () => devnet.balanceOf(devnet.accounts.payer2.address);
    const start = await payer2();
    const first = await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '5500' } }); // capped at 1,000 units: 10,000
    expect(first.status).toBe(200);
    const session = first.headers.get('X402-Metering-Session') ?? '';
    for (let i = 0; i < 5; i++)
      expect(
        (
          await server.fetch(`${ORIGIN}/llm`, {
            method: 'POST',
            headers: { 'X402-Metering-Session': session, 'x-units': '1000' },
          })
        ).status,
      ).toBe(200);
    // 60,000 used, 40,000 left: four calls of 10,000 reserved fit, 26 are refused.
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        server.fetch(`${ORIGIN}/llm`, {
          method: 'POST',
          headers: { 'X402-Metering-Session': session, 'x-units': '999' },
        }),
      ),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(4);
    const refused = answers.filter((r) => r.status === 402);
    expect(refused).toHaveLength(26);
    expect(
      refused.every(
        (r) =>
          r.headers.get('X402-Metering-Error') === 'metering_exhausted' && r.headers.get('PAYMENT-REQUIRED') !== null,
      ),
    ).toBe(true);
    const [closed] = await client.close(ORIGIN);
    const used = 60_000n + 4n * 9_990n;
    expect(closed?.refund).toMatchObject({ status: 'sent', amount: String(DEPOSIT - used) });
    expect(await payer2()).toBe(start - used);
  });

  it('two sessions closed at once: both ERC-20 refunds land (one gas account, one nonce each)', async () => {
    const a = server.client({ adapters: [evmEip3009Client()], wallets: [walletFor(devnet, 'payer')] });
    const b = server.client({ adapters: [evmEip3009Client()], wallets: [walletFor(devnet, 'payer2')] });
    const start = await Promise.all([
      devnet.balanceOf(devnet.accounts.payer.address),
      devnet.balanceOf(devnet.accounts.payer2.address),
    ]);
    await a(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '100' } });
    await b(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '200' } });
    const [[closedA], [closedB]] = await Promise.all([a.close(ORIGIN), b.close(ORIGIN)]);
    expect([closedA?.refund.amount, closedB?.refund.amount]).toEqual(['99000', '98000']);
    expect(closedA?.refund.reference).not.toBe(closedB?.refund.reference);
    expect(
      await Promise.all([
        devnet.balanceOf(devnet.accounts.payer.address),
        devnet.balanceOf(devnet.accounts.payer2.address),
      ]),
    ).toEqual([(start[0] ?? 0n) - 1_000n, (start[1] ?? 0n) - 2_000n]);
  });
});
