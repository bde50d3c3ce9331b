import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxUint256, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { UptoEvmScheme as UptoClientScheme } from '@x402/evm/upto/client';
import { createReceiptSigner, paywall, verifyReceipt, type FetchLike, type Paywall } from '../../src/index';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { metering, type Metering } from '../../src/metering/metering';
import { decodeMeteringReceipt } from '../../src/metering/meteringReceipt';
import { meteredFetch } from '../../src/client/meteredFetch';
import { payingFetch } from '../../src/client/payingFetch';
import { walletFor } from '../support/evmHarness';
import {
  PERMIT2_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
  evmUptoAuthorizer,
  evmUptoClient,
  evmUptoServer,
} from '../../adapters/evm/index';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet, type EvmDevnetAccountName } from '../../fixtures/evm/index';
import { ORIGIN, usageHandler } from '../metering/support';

/**
 * Issue 14 item 4: a metered route (`settle: 'authorize'`) paid by an UNMODIFIED official `@x402/fetch` client with
 * the official `upto` scheme registered. The client authorizes the route's maximum (one upto permit, nothing moves),
 * then calls on the session it was handed (plain requests with `X402-Metering-Session`: the wrapped fetch passes
 * them through), and the close settles the metered total (≤ max) in ONE `x402UptoPermit2Proxy` transaction, with one
 * final receipt stating the charge and the maximum. `payer2` approved Permit2 by transaction; `payer` pays by
 * gas-sponsored EIP-2612 permit (no approval, no gas). Our own `meteredFetch` with `evmUptoClient` runs the same flow.
 */

const MAX = 100_000n;
const TTL = 3_600;
let devnet: EvmDevnet;
let pw: Paywall;
let meter: Metering;
let app: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const approve = await devnet.walletClientFor('payer2').writeContract({
    address: devnet.token.address,
    abi: railsTokenAbi,
    functionName: 'approve',
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await devnet.publicClient.waitForTransactionReceipt({ hash: approve });
  const common = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  };
  const signer = await createReceiptSigner();
  meter = metering({
    token: await jwsCapabilityToken(),
    signer,
    routes: { 'POST /llm': { maxUnitsPerCall: 1_000n, unitPrice: 10n, settle: 'authorize', ttlSeconds: TTL } },
    authorizers: { 'evm-upto': evmUptoAuthorizer(common) },
    closeWaitMs: 300,
  });
  pw = paywall(
    // The official client signs deadline = now + maxTimeoutSeconds: it must outlast the session and its settling margin.
    { 'POST /llm': { accepts: [{ rail: 'evm-upto', amount: MAX, maxTimeoutSeconds: TTL + 900 }] } },
    { rails: [evmUptoServer(common)], signer, extensions: [meter] },
  );
  const handler = pw.wrap(usageHandler);
  app = async (input, init) => handler(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

function officialFetch(name: EvmDevnetAccountName) {
  const account = privateKeyToAccount(devnet.accounts[name].privateKey as Hex);
  const client = new x402Client()
    .register(devnet.network, new UptoClientScheme(account, { rpcUrl: devnet.rpcUrl }))
    .setSpendControls({
      allowedAssets: [{ network: devnet.network, asset: devnet.token.address, maxAmountPerPayment: MAX.toString() }],
    });
  return wrapFetchWithPayment(app, client);
}
const balance = (name: EvmDevnetAccountName) => devnet.balanceOf(devnet.accounts[name].address);

describe('official @x402/fetch (upto) → metered route (authorize max, settle actual)', () => {
  for (const payer of ['payer2', 'payer'] as const) {
    it(`${payer === 'payer' ? 'gas-sponsored permit' : 'Permit2 approved'}: opens on the upto authorization without moving a token, settles exactly the metered total once`, async () => {
      const pay = officialFetch(payer);
      const before = { payer: await balance(payer), payee: await balance('payee') };
      const head = await devnet.publicClient.getBlockNumber({ cacheTime: 0 });
      const first = await pay(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '123' }, body: 'prompt' });
      expect(first.status).toBe(200);
      const session = first.headers.get('X402-Metering-Session') ?? '';
      expect(session).not.toBe('');
      expect(await devnet.publicClient.getBlockNumber({ cacheTime: 0 })).toBe(head); // nothing moved at open
      for (const units of ['1000', '7']) {
        const res = await pay(`${ORIGIN}/llm`, {
          method: 'POST',
          headers: { 'X402-Metering-Session': session, 'x-units': units },
          body: 'prompt',
        });
        expect(res.status).toBe(200);
        expect(decodeMeteringReceipt(res.headers.get('X402-Metering-Receipt'))?.metering?.used).toBe(
          String((123 + Number(units === '7' ? 1007 : 1000)) * 10),
        );
      }
      const used = (123n + 1000n + 7n) * 10n;
      const closing = () =>
        pay(`${ORIGIN}/llm`, {
          method: 'POST',
          headers: { 'X402-Metering-Session': session, 'X402-Metering-Close': '1' },
        });
      // Two closes at once: one settlement
      // (one settles; the other answers the same settlement, or 503 while the settlement outlasts its wait)
      const [a, b] = await Promise.all([closing(), closing()]);
      expect([a.status, b.status].sort()).toContain(200);
      const closed = await (await closing()).json();
      for (const r of [a, b])
        if (r.status === 200) expect(await r.json()).toMatchObject({ settlement: closed.settlement });
        else expect(r.status).toBe(503);
      expect(closed.settlement).toMatchObject({ status: 'sent', amount: used.toString() });
      const tx = await devnet.publicClient.getTransactionReceipt({ hash: closed.settlement.reference as Hex });
      expect(tx.to?.toLowerCase()).toBe(X402_UPTO_PERMIT2_PROXY_ADDRESS.toLowerCase());
      const receipt = await verifyReceipt(closed.receipt, pw.jwks());
      expect(receipt).toMatchObject({
        rail: 'evm-upto',
        scheme: 'upto',
        amount: used.toString(),
        maxAmount: MAX.toString(),
        reference: closed.settlement.reference,
        metering: { final: true, authorized: MAX.toString(), used: used.toString() },
      });
      expect(await balance(payer)).toBe(before.payer - used);
      expect(await balance('payee')).toBe(before.payee + used);
      // One transaction after the open: the settlement.
      expect(await devnet.publicClient.getBlockNumber({ cacheTime: 0 })).toBe(head + 1n);
    });
  }

  it('our meteredFetch with evmUptoClient: the same session flow, settled once for the metered total', async () => {
    const client = meteredFetch({
      pay: payingFetch(app, {
        adapters: [evmUptoClient()],
        wallets: [walletFor(devnet, 'payer2')],
        capabilities: false,
      }),
      fetch: app,
    });
    const before = { payer: await balance('payer2'), payee: await balance('payee') };
    for (const units of ['5', '60']) {
      const res = await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': units }, body: 'prompt' });
      expect(res.status).toBe(200);
    }
    expect(client.sessions(ORIGIN)).toHaveLength(1);
    const [closed] = await client.close(ORIGIN);
    expect(closed?.settlement).toMatchObject({ status: 'sent', amount: '650' });
    expect(await balance('payer2')).toBe(before.payer - 650n);
    expect(await balance('payee')).toBe(before.payee + 650n);
  });
});
