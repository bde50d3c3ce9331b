/**
 * Capabilities on a real chain (anvil + our EIP-3009 token): one on-chain settlement buys ten calls, the
 * token balance moves once; when the capability runs out the client pays again by itself (balance moves twice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { capabilities, type Capabilities } from '../../src/capabilities/capabilities';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { createCapabilityWallet } from '../../src/client/capabilityWallet';
import { payingFetch, receiptOf, type FetchLike } from '../../src/index';
import { PRICE, evmPaywall, walletFor } from '../support/evmHarness';

const BASE = 'http://shop.test';
let devnet: EvmDevnet;
let serverFetch: FetchLike;
let caps: Capabilities;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  caps = capabilities({
    token: await jwsCapabilityToken(),
    grants: { 'GET /paid/3009': { calls: 10, ttlSeconds: 600 } },
  });
  ({ fetch: serverFetch } = await evmPaywall(devnet, { extensions: [caps] }));
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

describe('capabilities on the EVM devnet', () => {
  it('one settlement, ten capability calls, then exhaustion and an automatic second payment', async () => {
    const wallet = createCapabilityWallet();
    const pay = payingFetch(serverFetch, {
      adapters: [evmEip3009Client()],
      wallets: [walletFor(devnet, 'payer')],
      capabilities: wallet,
    });
    const before = await balances();

    const bought = await pay(`${BASE}/paid/3009`);
    expect(bought.status).toBe(200);
    expect(receiptOf(bought)?.settleResponse?.success).toBe(true);
    expect(bought.headers.get('X402-Capability')).not.toBeNull();
    const afterOne = await balances();
    expect(afterOne.payer).toBe(before.payer - PRICE);
    expect(afterOne.payee).toBe(before.payee + PRICE);
    expect(wallet.held(BASE)[0]?.claims).toMatchObject({
      sub: devnet.accounts.payer.address,
      calls: 10,
      rail: 'evm-eip3009',
      scope: { routes: ['GET /paid/3009'] },
    });

    for (let i = 0; i < 10; i++) {
      const res = await pay(`${BASE}/paid/3009`);
      expect(res.status).toBe(200);
      expect(receiptOf(res)).toBeUndefined();
      expect(res.headers.get('X402-Capability-Remaining')).toBe(String(9 - i));
    }
    expect(await balances()).toEqual(afterOne);

    // Other route: not in scope, so the client pays for it instead of presenting the capability.
    const other = await pay(`${BASE}/paid/other`);
    expect(other.status).toBe(200);
    expect(receiptOf(other)?.settleResponse?.success).toBe(true);

    const again = await pay(`${BASE}/paid/3009`);
    expect(again.status).toBe(200);
    expect(receiptOf(again)?.settleResponse?.success).toBe(true);
    const after = await balances();
    expect(after.payer).toBe(before.payer - 3n * PRICE);
    expect(after.payee).toBe(before.payee + 3n * PRICE);
    expect(wallet.held(BASE)).toHaveLength(1);
  });

  it('a revoked capability makes the client pay again on chain', async () => {
    const wallet = createCapabilityWallet();
    const pay = payingFetch(serverFetch, {
      adapters: [evmEip3009Client()],
      wallets: [walletFor(devnet, 'payer2')],
      capabilities: wallet,
    });
    await pay(`${BASE}/paid/3009`);
    const jti = wallet.held(BASE)[0]?.claims.jti ?? '';
    expect((await pay(`${BASE}/paid/3009`)).headers.get('X402-Capability-Remaining')).toBe('9');
    await caps.revoke(jti);
    const before = await devnet.balanceOf(devnet.accounts.payer2.address);
    const res = await pay(`${BASE}/paid/3009`);
    expect(res.status).toBe(200);
    expect(receiptOf(res)?.settleResponse?.success).toBe(true);
    expect(await devnet.balanceOf(devnet.accounts.payer2.address)).toBe(before - PRICE);
    expect(wallet.held(BASE).map((h) => h.claims.jti)).not.toContain(jti);
  });
});
