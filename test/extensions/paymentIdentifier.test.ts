/**
 * The x402 `payment-identifier` extension on the shared EVM devnet: our paywall declares it, payingFetch and the
 * official @x402 client (with @x402/extensions' own helper) send an id, the same id with the same payment gets the
 * first answer again without charging (even past the replay bound, and after a client-side timeout), the same id
 * with another payment is 409, and `required` refuses a payment without one (400).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { x402Client, wrapFetchWithPayment } from '@x402/fetch';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import {
  appendPaymentIdentifierToExtensions,
  extractPaymentIdentifier,
  isPaymentIdentifierExtension,
  validatePaymentIdentifier,
} from '@x402/extensions/payment-identifier';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  decodePaymentSignatureHeader,
  encodePaymentSignatureHeader,
  payingFetch,
  paywall,
  receiptOf,
  type FetchLike,
  type Paywall,
} from '../../src/index';
import { paymentIdentifier, IDEMPOTENT_REPLAY_HEADER } from '../../src/extensions/index';
import { evmEip3009Client, evmEip3009Server, evmWallet } from '../../adapters/evm/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import { freshPayee } from '../mcp/support';

const PRICE = 6_000n;
let net: SharedDevnets;
let pw: Paywall;
let strict: Paywall;
let server: StartedServer;
const payee = freshPayee();
let runs = 0;
let slowNext = false;

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  const d = net.description;
  const rail = () =>
    evmEip3009Server({
      publicClient: net.evm.publicClient,
      walletClient: net.evm.walletClient('facilitator'),
      pollingIntervalMs: 5,
      chainId: d.evm.chainId,
      token: net.evm.token,
      payTo: payee,
    });
  const routes = { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
  // No issuer: in tests the request's origin (the ephemeral port) stands in. replay max 0: without the extension an identical resend of a settled payment is refused (409).
  pw = paywall(routes, {
    rails: [rail()],
    signer: await createReceiptSigner(),
    replay: { max: 0 },
    extensions: [paymentIdentifier()],
  });
  strict = paywall(routes, {
    rails: [rail()],
    signer: await createReceiptSigner(),
    issuer: 'http://strict.test',
    extensions: [paymentIdentifier({ required: true })],
  });
  server = await serveFetch(
    pw.wrap(async () => {
      runs++;
      if (slowNext) {
        slowNext = false;
        await new Promise((r) => setTimeout(r, 1_500));
      }
      return Response.json({ report: runs });
    }),
  );
});
afterAll(async () => {
  await server?.close();
});

const payeeBalance = () => net.evm.balanceOf(payee);
const wallet = () => evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient });
const url = () => `${server.url}/report`;

/** payingFetch over a recorder of every PAYMENT-SIGNATURE it sends. */
function recordingClient(options: { resend?: { attemptTimeoutMs: number; delayMs: number } } = {}): {
  pay: FetchLike;
  sent: string[];
} {
  const sent: string[] = [];
  const recorder: FetchLike = (input, init) => {
    const header = new Headers(init?.headers).get('PAYMENT-SIGNATURE');
    if (header !== null) sent.push(header);
    return fetch(input, init);
  };
  return { pay: payingFetch(recorder, { adapters: [evmEip3009Client()], wallets: [wallet()], ...options }), sent };
}

describe('payment-identifier', () => {
  it('every 402 declares the extension as the official helpers read it (info.required false, the spec schema)', async () => {
    const res = await fetch(url());
    const declared = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').extensions?.[
      'payment-identifier'
    ];
    expect(isPaymentIdentifierExtension(declared)).toBe(true);
    expect(declared).toMatchObject({
      info: { required: false },
      schema: { properties: { id: { minLength: 16, maxLength: 128 } } },
    });
  });

  it('payingFetch sends an id by default; the identical payment sent again gets the first answer without charging, past the replay bound', async () => {
    const before = await payeeBalance();
    const runsBefore = runs;
    const { pay, sent } = recordingClient();
    const first = await pay(url());
    expect(first.status).toBe(200);
    const firstBody = await first.json();
    const [header] = sent;
    const payment = decodePaymentSignatureHeader(header ?? '');
    const id = extractPaymentIdentifier(payment as Parameters<typeof extractPaymentIdentifier>[0]);
    expect(id).toMatch(/^pay_[0-9a-f]{32}$/);
    expect(validatePaymentIdentifier(payment.extensions?.['payment-identifier']).valid).toBe(true);
    for (let i = 0; i < 3; i++) {
      const again = await fetch(url(), { headers: { 'PAYMENT-SIGNATURE': header ?? '' } });
      expect(again.status).toBe(200);
      expect(again.headers.get(IDEMPOTENT_REPLAY_HEADER)).toBe('true');
      expect(again.headers.get('PAYMENT-RESPONSE')).toBe(first.headers.get('PAYMENT-RESPONSE'));
      expect(await again.json()).toEqual(firstBody);
    }
    expect(runs).toBe(runsBefore + 1);
    expect((await payeeBalance()) - before).toBe(PRICE);
  });

  it('the same id with another payment → 409 payment_identifier_conflict; nothing runs, nothing moves', async () => {
    const { pay, sent } = recordingClient();
    expect((await pay(url())).status).toBe(200);
    const first = decodePaymentSignatureHeader(sent[0] ?? '');
    const before = await payeeBalance();
    const runsBefore = runs;
    const offer = decodePaymentRequiredHeader((await fetch(url())).headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
    if (!offer) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, wallet(), {
      resource: { url: url() },
      x402Version: 2,
      now: Date.now(),
    });
    const other = encodePaymentSignatureHeader({
      x402Version: 2,
      resource: { url: url() },
      accepted: offer,
      payload,
      extensions: first.extensions,
    });
    const res = await fetch(url(), { headers: { 'PAYMENT-SIGNATURE': other } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ reason: 'payment_identifier_conflict' });
    expect(runs).toBe(runsBefore);
    expect(await payeeBalance()).toBe(before);
  });

  it('a send that timed out on the client is re-sent with the same id and answered from the first attempt: handler once, payee +PRICE once', async () => {
    const before = await payeeBalance();
    const runsBefore = runs;
    slowNext = true;
    const { pay, sent } = recordingClient({ resend: { attemptTimeoutMs: 700, delayMs: 1_500 } });
    const res = await pay(url());
    expect(res.status).toBe(200);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toBe(sent[0]);
    expect(res.headers.get(IDEMPOTENT_REPLAY_HEADER)).toBe('true');
    expect(receiptOf(res)?.receiptError).toBeUndefined();
    expect(receiptOf(res)?.receiptCheck).toBe('signature');
    expect(runs).toBe(runsBefore + 1);
    expect((await payeeBalance()) - before).toBe(PRICE);
  });

  it('required: true declares info.required and refuses a payment without an id (400) before verifying it', async () => {
    const handler = strict.wrap(() => new Response('paid'));
    const challenge = await handler(new Request('http://strict.test/report'));
    const declared = decodePaymentRequiredHeader(challenge.headers.get('PAYMENT-REQUIRED') ?? '');
    expect(declared.extensions?.['payment-identifier']).toMatchObject({ info: { required: true } });
    const offer = declared.accepts[0];
    if (!offer) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, wallet(), {
      resource: { url: 'http://strict.test/report' },
      x402Version: 2,
      now: Date.now(),
    });
    const res = await handler(
      new Request('http://strict.test/report', {
        headers: { 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload }) },
      }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: expect.stringMatching(/requires a payment id/) });
  });

  it("the official @x402 client with @x402/extensions' helper: its id makes a resend free, and reusing the id for a new payment is 409", async () => {
    const id = `pay_official_${Date.now()}_abcdef`;
    const account = privateKeyToAccount(net.description.evm.accounts.payer?.privateKey as Hex);
    const official = () => {
      const client = new x402Client().register(
        net.description.evm.network as `${string}:${string}`,
        new ExactEvmScheme(account),
      );
      client.setSpendControls({
        allowedAssets: [
          {
            network: net.description.evm.network as `${string}:${string}`,
            asset: net.evm.token.address,
            maxAmountPerPayment: PRICE.toString(),
          },
        ],
      });
      client.registerExtension({
        key: 'payment-identifier',
        enrichPaymentPayload: async (payload, required) => {
          if (!required.extensions?.['payment-identifier']) return payload;
          const extensions = {
            ...(payload.extensions ?? {}),
            'payment-identifier': required.extensions['payment-identifier'],
          };
          return { ...payload, extensions: appendPaymentIdentifierToExtensions(extensions, id) };
        },
      });
      return client;
    };
    const sent: string[] = [];
    const recorder = (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const header = request.headers.get('PAYMENT-SIGNATURE');
      if (header !== null) sent.push(header);
      return fetch(request);
    };
    const before = await payeeBalance();
    const runsBefore = runs;
    const first = await wrapFetchWithPayment(recorder, official())(url());
    expect(first.status).toBe(200);
    expect(
      extractPaymentIdentifier(
        decodePaymentSignatureHeader(sent[0] ?? '') as Parameters<typeof extractPaymentIdentifier>[0],
      ),
    ).toBe(id);
    const resend = await fetch(url(), { headers: { 'PAYMENT-SIGNATURE': sent[0] ?? '' } });
    expect(resend.status).toBe(200);
    expect(resend.headers.get('PAYMENT-RESPONSE')).toBe(first.headers.get('PAYMENT-RESPONSE'));
    const reused = await wrapFetchWithPayment(recorder, official())(url());
    expect(reused.status).toBe(409);
    expect(runs).toBe(runsBefore + 1);
    expect((await payeeBalance()) - before).toBe(PRICE);
  });
});
