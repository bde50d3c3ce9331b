import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTPFacilitatorClient } from '@x402/core/server';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  payingFetch,
  paywall,
  type FetchLike,
  type RoutesConfig,
} from '../../src/index';
import { remoteRail, type StartedFacilitator } from '../../src/facilitator/index';
import { evmClients, evmEip3009Server } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { PRICE, walletFor } from '../support/evmHarness';
import {
  FACILITATOR_KEY,
  bearer,
  facilitatorBody,
  officialHonoServer,
  requirementsFor,
  signedPayment,
  startEvmFacilitator,
} from '../support/facilitatorHarness';

let devnet: EvmDevnet;
let fac: StartedFacilitator;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  fac = await startEvmFacilitator(devnet);
});
afterAll(async () => {
  await fac?.close();
  await devnet?.stop();
});

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

function post(
  path: string,
  body: string,
  headers: Record<string, string> = bearer(),
  url = fac.url,
): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
}

describe('facilitator: HTTP surface', () => {
  it('answers 401 with a clear JSON body without a key or with a wrong key, and never echoes the key', async () => {
    for (const headers of [
      {},
      bearer('wrong-key-wrong-key-wrong-key'),
      { Authorization: FACILITATOR_KEY },
      { Authorization: `Basic ${FACILITATOR_KEY}` },
    ]) {
      const res = await fetch(`${fac.url}/supported`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({
        code: 'FACILITATOR__AUTH__REQUIRED',
        message: expect.stringContaining('Bearer'),
      });
      expect(text).not.toContain('wrong-key');
    }
    const verify = await post('/verify', '{}', {});
    expect(verify.status).toBe(401);
    const ok = await fetch(`${fac.url}/supported`, { headers: bearer() });
    expect(ok.status).toBe(200);
  });

  it('lists every rail kind on /supported, readable by the official HTTPFacilitatorClient', async () => {
    const client = new HTTPFacilitatorClient({
      url: fac.url,
      createAuthHeaders: async () => ({ verify: bearer(), settle: bearer(), supported: bearer() }),
    });
    const supported = await client.getSupported();
    expect(supported.kinds).toEqual([
      {
        x402Version: 2,
        scheme: 'exact',
        network: devnet.network,
        extra: { name: devnet.token.name, version: devnet.token.version },
      },
      {
        x402Version: 2,
        scheme: 'exact',
        network: devnet.network,
        extra: {
          name: devnet.token.name,
          version: devnet.token.version,
          assetTransferMethod: 'eip2612',
          spender: devnet.accounts.facilitator.address,
        },
      },
    ]);
    expect(supported.extensions).toEqual([]);
    expect(supported.signers).toEqual({ 'eip155:*': [devnet.accounts.facilitator.address] });
  });

  it('answers malformed JSON, a schema mismatch and another x402 version with 400 JSON', async () => {
    const bad = await post('/verify', '{"x402Version": 2, ');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'PROTOCOL__HEADER__BAD_JSON' });
    const schema = await post(
      '/settle',
      JSON.stringify({ x402Version: 2, paymentPayload: {}, paymentRequirements: {} }),
    );
    expect(schema.status).toBe(400);
    expect(await schema.json()).toMatchObject({
      code: 'PROTOCOL__HEADER__SCHEMA_MISMATCH',
      message: expect.stringContaining('paymentPayload'),
    });
    const v1 = await post('/verify', JSON.stringify({ x402Version: 1, paymentPayload: {}, paymentRequirements: {} }));
    expect(v1.status).toBe(400);
    expect(await v1.json()).toMatchObject({ code: 'PROTOCOL__VERSION__UNSUPPORTED' });
    const deep = await post('/verify', '['.repeat(100) + ']'.repeat(100));
    expect(deep.status).toBe(400);
    const missing = await fetch(`${fac.url}/nope`, { headers: bearer() });
    expect(missing.status).toBe(404);
  });

  it('answers an oversized body with 413 before reading it all', async () => {
    const res = await post('/settle', JSON.stringify({ padding: 'x'.repeat(200_000) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PROTOCOL__BODY__TOO_LARGE' });
  });

  it('answers an unsupported scheme or network with isValid false / success false and a reason', async () => {
    const requirements = requirementsFor(devnet);
    const payment = await signedPayment(devnet, requirements);
    for (const other of [
      requirementsFor(devnet, { scheme: 'upto' }),
      requirementsFor(devnet, { network: 'eip155:1' }),
      requirementsFor(devnet, { asset: devnet.otherToken.address }),
    ]) {
      const body = facilitatorBody({ ...payment, accepted: other }, other);
      const verify = await post('/verify', body);
      expect(verify.status).toBe(200);
      expect(await verify.json()).toMatchObject({
        isValid: false,
        invalidReason: 'unsupported_scheme',
        invalidMessage: expect.stringContaining('/supported'),
      });
      const settle = await post('/settle', body);
      expect(settle.status).toBe(200);
      expect(await settle.json()).toMatchObject({
        success: false,
        errorReason: 'unsupported_scheme',
        transaction: '',
        network: other.network,
      });
    }
    const mismatch = await post('/verify', facilitatorBody(payment, requirementsFor(devnet, { amount: '1' })));
    expect(await mismatch.json()).toMatchObject({ isValid: false, invalidReason: 'accepted_mismatch' });
  });

  it('answers a bad payment with 200 and the rail reason, moving nothing', async () => {
    const before = await balances();
    const requirements = requirementsFor(devnet);
    const cheap = await signedPayment(devnet, requirements, { signed: { ...requirements, amount: '1' } });
    const verify = await post('/verify', facilitatorBody(cheap));
    expect(verify.status).toBe(200);
    expect(await verify.json()).toMatchObject({
      isValid: false,
      invalidReason: 'amount_mismatch',
      payer: devnet.accounts.payer.address,
    });
    const settle = await post('/settle', facilitatorBody(cheap));
    expect(await settle.json()).toMatchObject({ success: false, errorReason: 'amount_mismatch', transaction: '' });
    const poor = await signedPayment(devnet, requirements, { wallet: 'poor' });
    expect(await (await post('/verify', facilitatorBody(poor))).json()).toMatchObject({
      isValid: false,
      invalidReason: 'insufficient_funds',
    });
    expect(await balances()).toEqual(before);
  });

  it('answers 503 when the rail RPC is down, and nothing is claimed', async () => {
    const down = await startEvmFacilitator(devnet, { rpcUrl: 'http://127.0.0.1:9' });
    try {
      const payment = await signedPayment(devnet, requirementsFor(devnet));
      const verify = await post('/verify', facilitatorBody(payment), bearer(), down.url);
      expect(verify.status).toBe(503);
      expect(verify.headers.get('Retry-After')).toBe('5');
      expect(await verify.json()).toMatchObject({ code: 'INFRA__RAIL__UNAVAILABLE' });
      const settle = await post('/settle', facilitatorBody(payment), bearer(), down.url);
      expect(settle.status).toBe(503);
      expect(await down.facilitator.store.listPending()).toEqual([]);
    } finally {
      await down.close();
    }
  });
});

describe('facilitator: settlement on anvil', () => {
  it('verifies, settles, and answers a repeated /settle with the same SettleResponse without paying twice', async () => {
    const before = await balances();
    const payment = await signedPayment(devnet, requirementsFor(devnet));
    const verify = await post('/verify', facilitatorBody(payment));
    expect(await verify.json()).toEqual({ isValid: true, payer: devnet.accounts.payer.address });
    const first = await (await post('/settle', facilitatorBody(payment))).json();
    expect(first).toEqual({
      success: true,
      transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      network: devnet.network,
      payer: devnet.accounts.payer.address,
      amount: PRICE.toString(),
    });
    const again = await (await post('/settle', facilitatorBody(payment))).json();
    expect(again).toEqual(first);
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    // After settlement the payment no longer verifies: it is spent.
    expect(await (await post('/verify', facilitatorBody(payment))).json()).toMatchObject({
      isValid: false,
      invalidReason: 'nonce_used',
    });
  });

  it('settles 8 concurrent duplicates of one payment exactly once, all with the same answer', async () => {
    const before = await balances();
    const payment = await signedPayment(devnet, requirementsFor(devnet));
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => post('/settle', facilitatorBody(payment)).then((r) => r.json())),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({ success: true });
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });

  it('refuses the same payment id presented for other requirements', async () => {
    const requirements = requirementsFor(devnet);
    const payment = await signedPayment(devnet, requirements);
    expect(await (await post('/settle', facilitatorBody(payment))).json()).toMatchObject({ success: true });
    const otherTerms = { ...requirements, maxTimeoutSeconds: 60 };
    const reuse = await post('/settle', facilitatorBody({ ...payment, accepted: otherTerms }, otherTerms));
    expect(await reuse.json()).toMatchObject({ success: false, errorReason: 'payment_already_used' });
  });

  it('serves the official x402 Hono resource server (HTTPFacilitatorClient → our facilitator), paid by our payingFetch', async () => {
    const before = await balances();
    const official = officialHonoServer(devnet, fac.url);
    const unpaid = await official('http://weather.test/weather');
    expect(unpaid.status).toBe(402);
    const pay = payingFetch(official, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay('http://weather.test/weather');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ weather: 'sunny' });
    const settlement = JSON.parse(
      Buffer.from(res.headers.get('PAYMENT-RESPONSE') ?? '', 'base64').toString('utf8'),
    ) as Record<string, unknown>;
    expect(settlement).toMatchObject({
      success: true,
      network: devnet.network,
      transaction: expect.stringMatching(/^0x/),
    });
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });

  it('refuses the official server with a wrong key: it cannot start and nothing is paid', async () => {
    const before = await balances();
    const official = officialHonoServer(devnet, fac.url, 'wrong-key-wrong-key-wrong-key');
    const pay = payingFetch(official, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay('http://weather.test/weather').catch((error: unknown) => error);
    // The official middleware cannot load /supported (401) and answers 500; the client pays nothing.
    expect(res).toBeInstanceOf(Response);
    if (res instanceof Response) expect(res.status).toBe(500);
    expect(await balances()).toEqual(before);
  });

  it('runs our paywall in remote-facilitator mode (remoteRail → our facilitator → anvil), paid by payingFetch', async () => {
    const before = await balances();
    const local = evmEip3009Server({
      publicClient: devnet.publicClient,
      walletClient: devnet.walletClientFor('deployer'),
      chainId: devnet.chainId,
      token: devnet.token,
      payTo: devnet.accounts.payee.address,
    });
    const rail = remoteRail({
      id: local.id,
      url: fac.url,
      apiKey: FACILITATOR_KEY,
      supports: local.supports,
      quote: local.quote,
      paymentId: local.paymentId,
    });
    const routes: RoutesConfig = { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
    const pw = paywall(routes, { rails: [rail], signer: await createReceiptSigner() });
    const handler = pw.wrap(() => Response.json({ report: 'ok' }));
    const server: FetchLike = async (input, init) => handler(new Request(input, init));
    const pay = payingFetch(server, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
    const res = await pay('http://shop.test/report');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ report: 'ok' });
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    // The gas was paid by the facilitator's account, not the paywall's.
    const settlement = JSON.parse(
      Buffer.from(res.headers.get('PAYMENT-RESPONSE') ?? '', 'base64').toString('utf8'),
    ) as { transaction: `0x${string}` };
    const tx = await devnet.publicClient.getTransaction({ hash: settlement.transaction });
    expect(tx.from.toLowerCase()).toBe(devnet.accounts.facilitator.address.toLowerCase());
  });

  it('maps facilitator refusals and outages in remote mode: bad payment → 402 with the reason, unreachable → 503', async () => {
    const local = evmEip3009Server({
      publicClient: devnet.publicClient,
      walletClient: devnet.walletClientFor('deployer'),
      chainId: devnet.chainId,
      token: devnet.token,
      payTo: devnet.accounts.payee.address,
    });
    const routes: RoutesConfig = { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
    const make = async (url: string, wallet: 'payer' | 'poor', apiKey = FACILITATOR_KEY) => {
      const rail = remoteRail({
        id: local.id,
        url,
        apiKey,
        supports: local.supports,
        quote: local.quote,
        paymentId: local.paymentId,
      });
      const handler = paywall(routes, { rails: [rail], signer: await createReceiptSigner() }).wrap(
        () => new Response('ok'),
      );
      return payingFetch(async (input, init) => handler(new Request(input, init)), {
        adapters: evmClients(),
        wallets: [walletFor(devnet, wallet)],
      });
    };
    const before = await balances();
    const refused = await (await make(fac.url, 'poor'))('http://shop.test/report');
    expect(refused.status).toBe(402);
    expect(decodePaymentRequiredHeader(refused.headers.get('PAYMENT-REQUIRED') ?? '').error).toBe('insufficient_funds');
    const unreachable = await (await make('http://127.0.0.1:9', 'payer'))('http://shop.test/report');
    expect(unreachable.status).toBe(503);
    expect(await unreachable.json()).toMatchObject({ code: 'INFRA__RAIL__UNAVAILABLE' });
    const wrongKey = await (await make(fac.url, 'payer', 'wrong-key-wrong-key-wrong-key'))('http://shop.test/report');
    expect(wrongKey.status).toBe(502);
    expect(await wrongKey.json()).toMatchObject({
      code: 'INFRA__RAIL__UNAVAILABLE',
      message: expect.stringContaining('apiKey'),
    });
    expect(await balances()).toEqual(before);
  });
});

describe('facilitator: ambiguous settlement (automine off)', () => {
  it('passes settlement_pending through remote mode: our paywall answers 503 with the reference, nothing served twice', async () => {
    const slow = await startEvmFacilitator(devnet, { confirmTimeoutMs: 300, reconcileWaitMs: 0 });
    const local = evmEip3009Server({
      publicClient: devnet.publicClient,
      walletClient: devnet.walletClientFor('deployer'),
      chainId: devnet.chainId,
      token: devnet.token,
      payTo: devnet.accounts.payee.address,
    });
    const rail = remoteRail({
      id: local.id,
      url: slow.url,
      apiKey: FACILITATOR_KEY,
      supports: local.supports,
      quote: local.quote,
      paymentId: local.paymentId,
    });
    const pw = paywall(
      { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
      { rails: [rail], signer: await createReceiptSigner() },
    );
    const handler = pw.wrap(() => new Response('ok'));
    const before = await balances();
    await devnet.testClient.setAutomine(false);
    try {
      const pay = payingFetch(async (input, init) => handler(new Request(input, init)), {
        adapters: evmClients(),
        wallets: [walletFor(devnet, 'payer')],
      });
      const res = await pay('http://shop.test/report');
      expect(res.status).toBe(503);
      const body = (await res.json()) as { reason: string; details: { reference: string } };
      expect(body).toMatchObject({
        code: 'INFRA__SETTLEMENT__PENDING',
        reason: 'settlement_pending',
        details: { reference: expect.stringMatching(/^0x[0-9a-f]{64}$/) },
      });
      expect(await pw.store.listPending()).toEqual([
        expect.objectContaining({ record: expect.objectContaining({ reference: body.details.reference }) }),
      ]);
      await devnet.testClient.mine({ blocks: 1 });
    } finally {
      await devnet.testClient.setAutomine(true);
      await slow.close();
    }
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });

  it('answers settlement_pending with the transaction, stays pending without re-sending, then reconciles to the same transaction', async () => {
    const slow = await startEvmFacilitator(devnet, { confirmTimeoutMs: 300, reconcileWaitMs: 300 });
    const before = await balances();
    const payment = await signedPayment(devnet, requirementsFor(devnet));
    await devnet.testClient.setAutomine(false);
    try {
      const first = await post('/settle', facilitatorBody(payment), bearer(), slow.url);
      expect(first.status).toBe(200);
      const pending = (await first.json()) as {
        success: boolean;
        errorReason: string;
        transaction: string;
        network: string;
      };
      expect(pending).toMatchObject({
        success: false,
        errorReason: 'settlement_pending',
        transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/),
        network: devnet.network,
      });
      expect(await slow.facilitator.store.listPending()).toEqual([
        {
          paymentId: expect.stringMatching(/^evm-eip3009:/),
          record: expect.objectContaining({ state: 'pending', reference: pending.transaction }),
        },
      ]);
      // Still unconfirmed: a repeat answers pending with the same transaction and broadcasts nothing new.
      const again = await (await post('/settle', facilitatorBody(payment), bearer(), slow.url)).json();
      expect(again).toMatchObject({
        success: false,
        errorReason: 'settlement_pending',
        transaction: pending.transaction,
      });
      const pool = await devnet.testClient.getTxpoolContent();
      const queued = Object.values(pool.pending).flatMap((byNonce) => Object.values(byNonce));
      expect(queued.map((tx) => tx.hash)).toEqual([pending.transaction]);
      await devnet.testClient.mine({ blocks: 1 });
      const settled = await (await post('/settle', facilitatorBody(payment), bearer(), slow.url)).json();
      expect(settled).toEqual({
        success: true,
        transaction: pending.transaction,
        network: devnet.network,
        payer: devnet.accounts.payer.address,
        amount: PRICE.toString(),
      });
      expect(await slow.facilitator.store.listPending()).toEqual([]);
    } finally {
      await devnet.testClient.setAutomine(true);
      await slow.close();
    }
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
  });

  it('lets the official resource server retry a pending settlement: its one retry reconciles through our facilitator → 200', async () => {
    let mined: Promise<void> | undefined;
    const answers: string[] = [];
    const slow = await startEvmFacilitator(devnet, {
      confirmTimeoutMs: 300,
      reconcileWaitMs: 3_000,
      onEvent: (event) => {
        if (event.type !== 'settled') return;
        answers.push(event.reason ?? 'success');
        // The block lands while the official server's immediate retry is waiting on our facilitator.
        if (event.reason === 'settlement_pending')
          mined ??= new Promise((r) => setTimeout(r, 200)).then(() => devnet.testClient.mine({ blocks: 1 }));
      },
    });
    const before = await balances();
    await devnet.testClient.setAutomine(false);
    try {
      const official = officialHonoServer(devnet, slow.url);
      const pay = payingFetch(official, { adapters: evmClients(), wallets: [walletFor(devnet, 'payer')] });
      const res = await pay('http://weather.test/weather');
      await mined;
      expect(res.status).toBe(200);
      expect(answers).toEqual(['settlement_pending', 'success']);
    } finally {
      await devnet.testClient.setAutomine(true);
      await slow.close();
    }
    expect(before.payer - (await balances()).payer).toBe(PRICE);
  });
});

describe('remoteRail: mapping facilitator answers (scripted facilitator)', () => {
  const req = () => requirementsFor(devnet);
  const ctx = {
    request: { method: 'GET', url: 'http://shop.test/report', bodyHash: '' },
    now: Date.now(),
    paymentId: 'evm-eip3009:x',
  };
  const railAnswering = (answer: () => Response | Promise<Response>, calls: string[] = []) =>
    remoteRail({
      id: 'evm-eip3009',
      url: 'http://facilitator.test/',
      apiKey: FACILITATOR_KEY,
      supports: () => true,
      quote: async () => req(),
      paymentId: () => 'x',
      settleRetries: 1,
      fetch: async (input, init) => {
        calls.push(
          `${init.method} ${input} ${new Headers(init.headers).get('Authorization') === `Bearer ${FACILITATOR_KEY}` ? 'auth' : 'noauth'}`,
        );
        return answer();
      },
    });

  it('maps VerifyResponse and SettleResponse (also a 4xx carrying one) to rail results', async () => {
    const calls: string[] = [];
    const ok = railAnswering(() => Response.json({ isValid: true, payer: '0xabc' }), calls);
    await expect(ok.verify({}, req(), ctx)).resolves.toEqual({
      isValid: true,
      payer: '0xabc',
      amount: PRICE.toString(),
    });
    expect(calls).toEqual(['POST http://facilitator.test/verify auth']);
    const refused = railAnswering(() =>
      Response.json({ isValid: false, invalidReason: 'invalid_exact_evm_signature' }, { status: 400 }),
    );
    await expect(refused.verify({}, req(), ctx)).resolves.toMatchObject({
      isValid: false,
      reason: 'invalid_exact_evm_signature',
    });
    const settled = railAnswering(() =>
      Response.json({ success: true, transaction: '0x01', network: devnet.network, payer: '0xabc' }),
    );
    await expect(settled.settle({}, req(), ctx)).resolves.toEqual({
      status: 'settled',
      reference: '0x01',
      payer: '0xabc',
      amount: PRICE.toString(),
    });
    const pending = railAnswering(() =>
      Response.json({
        success: false,
        errorReason: 'settlement_pending',
        transaction: '0x02',
        network: devnet.network,
      }),
    );
    await expect(pending.settle({}, req(), ctx)).resolves.toMatchObject({ status: 'pending', reference: '0x02' });
    const failed = railAnswering(() =>
      Response.json({ success: false, errorReason: 'nonce_used', transaction: '', network: devnet.network }),
    );
    await expect(failed.settle({}, req(), ctx)).resolves.toMatchObject({ status: 'failed', reason: 'nonce_used' });
  });

  it('maps outages: 5xx → 503, garbage → 502, and an ambiguous /settle (gateway 504) retried then pending', async () => {
    await expect(
      railAnswering(() => new Response('oops', { status: 500 })).verify({}, req(), ctx),
    ).rejects.toMatchObject({ name: 'RailUnavailableError', status: 503 });
    await expect(
      railAnswering(() => new Response('<html>', { status: 200 })).verify({}, req(), ctx),
    ).rejects.toMatchObject({ name: 'RailUnavailableError', status: 502 });
    const calls: string[] = [];
    const gateway = railAnswering(() => new Response('gateway timeout', { status: 504 }), calls);
    await expect(gateway.settle({}, req(), ctx)).rejects.toMatchObject({
      name: 'SettlementPendingError',
      reference: 'facilitator:evm-eip3009:x',
    });
    expect(calls).toHaveLength(2);
    const down = railAnswering(() => new Response('unavailable', { status: 503 }));
    await expect(down.settle({}, req(), ctx)).rejects.toMatchObject({ name: 'RailUnavailableError' });
  });
});
