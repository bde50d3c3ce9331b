/**
 * Faults on the Lightning rail (L402 over the LND gRPC stand-in): the paywall reaches bob's node (the
 * server's) only through a TCP proxy that can cut it (node down: connection refused), stall it (node hung:
 * calls never answered, or answered into the void after the node acted on them) and bring it back on the
 * same port with the node's state kept (a restarted node). alice pays from her own node, which stays up.
 * Each case: 503 with a clear code and no invoice / no service while the node is away; once it is back the
 * same paid token is served with one receipt, and the money moved exactly once.
 */
import { authenticatedLndGrpc, type AuthenticatedLnd } from 'ln-service';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReceiptSigner, payingFetch, paywall, receiptOf, type FetchLike, type Paywall } from '../../src/index';
import {
  formatL402Authorization,
  lightningClient,
  lightningServer,
  lightningWallet,
  parseL402Challenge,
  payInvoice,
} from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { startTcpFaultProxy, type TcpFaultProxy } from '../support/tcpFaultProxy';
import { countingHandler, expectReceipt, expectUnavailable, preparePayment } from './support/faultAssertions';

const PRICE = 21_000n;
const URL_PAID = 'http://faults.test/ln';
/** How long the rail waits for its node before answering 503: small, so a hung node resolves fast. */
const NODE_TIMEOUT_MS = 400;

let devnet: LightningDevnet;
let proxy: TcpFaultProxy;
let lnd: AuthenticatedLnd;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  proxy = await startTcpFaultProxy(devnet.nodes.bob.socket);
  lnd = authenticatedLndGrpc({
    socket: proxy.socket,
    cert: devnet.nodes.bob.cert,
    macaroon: devnet.nodes.bob.macaroon,
  }).lnd;
});
/** Closes an ln-service client's gRPC channels. */
function closeLnd(client: AuthenticatedLnd | undefined): void {
  for (const service of Object.values(client ?? {}))
    if (typeof service === 'object' && service !== null && 'close' in service && typeof service.close === 'function')
      service.close();
}

afterAll(async () => {
  closeLnd(lnd);
  await proxy?.close();
  await devnet?.stop();
});
beforeEach(async () => {
  await proxy.restore();
});

/** A paywall over bob's node, reached through the fault proxy (or with another `lnd` client, and a given token key). */
async function server(
  options: { lnd?: AuthenticatedLnd; rootKey?: Uint8Array } = {},
): Promise<{ pw: Paywall; fetch: FetchLike; runs: () => number }> {
  const rootKey = options.rootKey ?? new Uint8Array(randomBytes(32));
  const rail = lightningServer({
    lnd: options.lnd ?? lnd,
    rootKey,
    network: devnet.network,
    rpcTimeoutMs: NODE_TIMEOUT_MS,
  });
  const pw = paywall(
    { 'GET /ln': { accepts: [{ rail: 'lightning-l402', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  const counted = countingHandler();
  const handler = pw.wrap(counted.handler);
  return { pw, fetch: async (input, init) => handler(new Request(input, init)), runs: () => counted.runs };
}

function balances(): { alice: bigint; bob: bigint } {
  return { alice: devnet.channelBalance('alice'), bob: devnet.channelBalance('bob') };
}

/** alice → bob movement since `before`, msat (the direct channel: no routing fee, both sides agree). */
function movedSince(before: { alice: bigint; bob: bigint }): bigint {
  const now = balances();
  expect(before.alice - now.alice).toBe(now.bob - before.bob);
  return now.bob - before.bob;
}

/** Asks for the challenge until the node answers again (grpc-js reconnects with a backoff); every miss is a clean 503. */
async function challengeOnceBack(fetch: FetchLike): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(URL_PAID);
    if (response.status === 402 || attempt >= 60) return response;
    await expectUnavailable(response);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sends `send()` until the node answers again; every miss is a clean 503. */
async function untilBack(send: () => Promise<Response>): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await send();
    if (response.status !== 503 || attempt >= 60) return response;
    await expectUnavailable(response);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Lightning faults (L402 on the LND stand-in behind a TCP fault proxy)', () => {
  it('node down during the challenge: 503 with no invoice and nothing paid; once it is back the client pays and is served', async () => {
    const { pw, fetch, runs } = await server();
    const before = balances();
    await proxy.cut();
    const unpaid = await fetch(URL_PAID);
    expect(unpaid.headers.get('WWW-Authenticate')).toBeNull();
    expect(unpaid.headers.get('PAYMENT-REQUIRED')).toBeNull();
    await expectUnavailable(unpaid);
    // a paying client sees the same 503 and pays nothing
    const client = payingFetch(fetch, {
      adapters: [lightningClient()],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
      resend: false,
    });
    await expectUnavailable(await client(URL_PAID));
    expect(movedSince(before)).toBe(0n);
    expect(runs()).toBe(0);

    await proxy.restore();
    expect((await challengeOnceBack(fetch)).status).toBe(402);
    const response = await client(URL_PAID);
    expect(receiptOf(response)?.receiptError).toBeUndefined();
    await expectReceipt(response, pw);
    expect(movedSince(before)).toBe(PRICE);
  });

  it('node down during verify of a paid token (x402): 503, not served; once it is back the same payment is served with one receipt, paid once', async () => {
    const { pw, fetch, runs } = await server();
    const payment = await preparePayment(fetch, URL_PAID, lightningClient(), lightningWallet(devnet.nodes.alice.lnd));
    const before = balances();
    await proxy.cut();
    await expectUnavailable(await payment.send());
    expect(runs()).toBe(0);

    await proxy.restore();
    const receipt = await expectReceipt(await untilBack(payment.send), pw);
    expect(receipt.reference).toBe(payment.offer.extra.paymentHash);
    expect(await expectReceipt(await payment.send(), pw)).toMatchObject({ id: receipt.id });
    // alice paid while creating the payment, before the cut: nothing more moved since
    expect(movedSince(before)).toBe(0n);
  });

  it('node down during verify of a plain L402 Authorization: 503, then served with a receipt once it is back, paid once', async () => {
    const { pw, fetch, runs } = await server();
    const challenge = parseL402Challenge((await fetch(URL_PAID)).headers.get('WWW-Authenticate') ?? '');
    if (!challenge) throw new Error('no L402 challenge');
    const before = balances();
    const { preimage } = await payInvoice({
      lnd: devnet.nodes.alice.lnd,
      invoice: challenge.invoice,
      amountMsat: PRICE,
      now: Date.now(),
    });
    expect(movedSince(before)).toBe(PRICE);
    const send = () =>
      fetch(URL_PAID, {
        headers: { Authorization: formatL402Authorization({ macaroons: [challenge.macaroon], preimage }) },
      });
    await proxy.cut();
    await expectUnavailable(await send());
    expect(runs()).toBe(0);

    await proxy.restore();
    const receipt = await expectReceipt(await untilBack(send), pw);
    expect(receipt.proof).toBe(preimage);
    expect(movedSince(before)).toBe(PRICE);
  });

  it('node answers every call with an error status (the gRPC side of a 5xx; here it refuses the credentials): 503 with no invoice, and 503 for a paid token, which a healthy node then serves', async () => {
    const rootKey = new Uint8Array(randomBytes(32));
    const healthy = await server({ rootKey });
    // bob's socket, alice's macaroon: bob's node answers each call with lnd's macaroon failure (gRPC UNKNOWN)
    const refusing = authenticatedLndGrpc({
      socket: devnet.nodes.bob.socket,
      cert: devnet.nodes.bob.cert,
      macaroon: devnet.nodes.alice.macaroon,
    }).lnd;
    const failing = await server({ lnd: refusing, rootKey });
    const unpaid = await failing.fetch(URL_PAID);
    expect(unpaid.headers.get('WWW-Authenticate')).toBeNull();
    await expectUnavailable(unpaid);

    const challenge = parseL402Challenge((await healthy.fetch(URL_PAID)).headers.get('WWW-Authenticate') ?? '');
    if (!challenge) throw new Error('no L402 challenge');
    const before = balances();
    const { preimage } = await payInvoice({
      lnd: devnet.nodes.alice.lnd,
      invoice: challenge.invoice,
      amountMsat: PRICE,
      now: Date.now(),
    });
    const headers = { Authorization: formatL402Authorization({ macaroons: [challenge.macaroon], preimage }) };
    await expectUnavailable(await failing.fetch(URL_PAID, { headers }));
    expect(failing.runs()).toBe(0);
    await expectReceipt(await healthy.fetch(URL_PAID, { headers }), healthy.pw);
    expect(movedSince(before)).toBe(PRICE);
    closeLnd(refusing);
  });

  it('node hung (calls never answered): 503 after the rail timeout, not a hung request; served once it answers again', async () => {
    const { pw, fetch, runs } = await server();
    const payment = await preparePayment(fetch, URL_PAID, lightningClient(), lightningWallet(devnet.nodes.alice.lnd));
    proxy.stall();
    await expectUnavailable(await payment.send());
    const unpaid = await fetch(URL_PAID);
    expect(unpaid.headers.get('WWW-Authenticate')).toBeNull();
    await expectUnavailable(unpaid);
    expect(runs()).toBe(0);

    await proxy.restore();
    await expectReceipt(await untilBack(payment.send), pw);
  });

  it("node answers lost after it acted (the invoice is made, the answer never arrives): 503, no challenge; the node's next answer works", async () => {
    const { pw, fetch } = await server();
    proxy.stall('replies');
    const unpaid = await fetch(URL_PAID);
    await expectUnavailable(unpaid);

    await proxy.restore();
    expect((await challengeOnceBack(fetch)).status).toBe(402);
    const client = payingFetch(fetch, {
      adapters: [lightningClient()],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
    });
    await expectReceipt(await client(URL_PAID), pw);
  });
});
