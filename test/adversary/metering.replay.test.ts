/**
 * Attack (#12 finding 6, metering): re-sending the deposit's own PAYMENT-SIGNATURE for the identical request.
 * Before the fix that was an idempotent replay: the handler ran again, nothing was drawn from the session, and
 * a closed session was ignored, so after the close and its refund 5 more calls were served for free.
 *
 * Guarantee: a deposit's payment served again is a call on its session, drawn before the handler runs; a
 * closed (refunded) session serves nothing. After close + refund, 5 re-sends of the deposit's PAYMENT-SIGNATURE
 * get 0 handler runs (402 `metering_closed` while the replay bound admits them, then 409
 * `replay_limit_reached`), and the merchant's and the payer's token balances stay exactly as after the close.
 * While the session is open, a re-send is drawn like any call (a lost deposit answer gets its session back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmRefunder } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { metering, type Metering } from '../../src/metering/metering';
import { decodeMeteringReceipt } from '../../src/metering/meteringReceipt';
import type { FetchLike } from '../../src/index';
import { verifyReceipt } from '../../src/core/receipt';
import { eip3009Rail, flowPaywall, offerOf, paymentHeader, reasonOf, payerPayeeBalances } from './support/evmFlow';

const ORIGIN = 'http://shop.test';
const URL_ = `${ORIGIN}/llm`;
const DEPOSIT = 100_000n;
const UNIT_PRICE = 10n;
const MAX_UNITS = 1_000n; // a call reserves 10,000
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => payerPayeeBalances(devnet);

async function meteredShop(runs: { count: number }): Promise<{
  fetch: FetchLike;
  meter: Metering;
  jwks: () => ReturnType<Awaited<ReturnType<typeof createReceiptSigner>>['jwks']>;
}> {
  const signer = await createReceiptSigner();
  const rail = eip3009Rail(devnet);
  const meter = metering({
    token: await jwsCapabilityToken(),
    signer,
    routes: { 'POST /llm': { maxUnitsPerCall: MAX_UNITS, unitPrice: UNIT_PRICE } },
    refunds: {
      [rail.id]: evmRefunder({
        publicClient: devnet.publicClient,
        walletClient: devnet.walletClientFor('payee'),
        confirmTimeoutMs: 10_000,
        pollingIntervalMs: 5,
      }),
    },
  });
  const handler = async (request: Request) => {
    runs.count++;
    return Response.json({ answer: 42 }, { headers: { 'X402-Usage': request.headers.get('x-units') ?? '100' } });
  };
  const { fetch } = await flowPaywall(
    devnet,
    { 'POST /llm': { accepts: [{ rail: rail.id, amount: DEPOSIT }] } },
    handler,
    { signer, extensions: [meter] },
  );
  return { fetch, meter, jwks: () => signer.jwks() };
}

const deposit = (header: string): RequestInit => ({
  method: 'POST',
  body: 'prompt',
  headers: { 'PAYMENT-SIGNATURE': header, 'x-units': '100' },
});

describe("the deposit's PAYMENT-SIGNATURE re-sent (metering on anvil)", () => {
  it('after close + refund, 5 re-sends reach the handler 0 times; balances stay as after the close', async () => {
    const runs = { count: 0 };
    const shop = await meteredShop(runs);
    const start = await balances();
    const header = await paymentHeader(
      devnet,
      await offerOf(shop.fetch, URL_, { method: 'POST', body: 'prompt' }),
      URL_,
    );

    const opened = await shop.fetch(URL_, deposit(header));
    expect(opened.status).toBe(200);
    const session = opened.headers.get('X402-Metering-Session') ?? '';
    expect(session).not.toBe('');
    expect(runs.count).toBe(1);
    // one call of 100 units (1,000) was charged on the deposit; close it: the refund is 99,000
    const closed = await shop.fetch(URL_, {
      method: 'POST',
      headers: { 'X402-Metering-Session': session, 'X402-Metering-Close': '1' },
    });
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({ refund: { status: 'sent', amount: '99000' } });
    const afterClose = await balances();
    expect(afterClose).toEqual({ payer: start.payer - 1_000n, payee: start.payee + 1_000n });

    const answers: Array<{ status: number; reason: string | undefined; meteringError: string | null }> = [];
    for (let i = 0; i < 5; i++) {
      const res = await shop.fetch(URL_, deposit(header));
      answers.push({
        status: res.status,
        meteringError: res.headers.get('X402-Metering-Error'),
        reason: await reasonOf(res),
      });
    }
    expect(answers).toEqual([
      ...Array.from({ length: 3 }, () => ({
        status: 402,
        reason: 'metering_closed',
        meteringError: 'metering_closed',
      })),
      ...Array.from({ length: 2 }, () => ({ status: 409, reason: 'replay_limit_reached', meteringError: null })),
    ]);
    expect(runs.count).toBe(1);
    expect(await balances()).toEqual(afterClose);
  });

  it('while the session is open, a re-send is drawn from it like any call and hands the session back', async () => {
    const runs = { count: 0 };
    const shop = await meteredShop(runs);
    const start = await balances();
    const header = await paymentHeader(
      devnet,
      await offerOf(shop.fetch, URL_, { method: 'POST', body: 'prompt' }),
      URL_,
    );
    const opened = await shop.fetch(URL_, deposit(header));
    expect(opened.status).toBe(200);
    const session = opened.headers.get('X402-Metering-Session');

    // the deposit's answer was lost: the client re-sends it and gets its session back, the call drawn (1,000 more)
    const resent = await shop.fetch(URL_, deposit(header));
    expect(resent.status).toBe(200);
    expect(resent.headers.get('X402-Metering-Session')).toBe(session);
    const call = await verifyReceipt(decodeMeteringReceipt(resent.headers.get('X402-Metering-Receipt')), shop.jwks());
    expect(call.metering).toMatchObject({ used: '2000', remaining: '98000' });
    expect(runs.count).toBe(2);

    const closed = await shop.fetch(URL_, {
      method: 'POST',
      headers: { 'X402-Metering-Session': session ?? '', 'X402-Metering-Close': '1' },
    });
    expect(await closed.json()).toMatchObject({ refund: { status: 'sent', amount: '98000' } });
    expect(await balances()).toEqual({ payer: start.payer - 2_000n, payee: start.payee + 2_000n });
  });
});
