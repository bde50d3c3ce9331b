/**
 * `payment-identifier` across a restart and a second instance, on the shared EVM devnet: instance A keeps its ids in
 * a SQLite file and is paid once; A's store is closed (a restart) and instance B, a second paywall on the same file,
 * answers the same id + same payment with A's answer (no verify, no charge, the handler does not run) and the same id
 * with another payment with 409. The payee's balance moves once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  decodePaymentSignatureHeader,
  encodePaymentSignatureHeader,
  payingFetch,
  paywall,
  type FetchLike,
  type ReceiptSigner,
} from '../../src/index';
import {
  IDEMPOTENT_REPLAY_HEADER,
  createSqliteIdempotencyStore,
  paymentIdentifier,
  type SqliteIdempotencyStore,
} from '../../src/extensions/index';
import { evmEip3009Client, evmEip3009Server, evmWallet } from '../../adapters/evm/index';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import { freshPayee } from '../mcp/support';

const PRICE = 7_000n;
const URL_ = 'https://shop.test/report';
const dir = mkdtempSync(join(tmpdir(), 'x402-pid-shared-'));
const path = join(dir, 'ids.sqlite');
let net: SharedDevnets;
let signer: ReceiptSigner;
const payee = freshPayee();
let runs = 0;
const stores: SqliteIdempotencyStore[] = [];

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  signer = await createReceiptSigner();
});
afterAll(() => {
  for (const s of stores) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One paywall instance over the SQLite file: its own payment store (memory), the shared idempotency store. */
function instance(): { handler: (request: Request) => Response | Promise<Response>; store: SqliteIdempotencyStore } {
  const d = net.description;
  const store = createSqliteIdempotencyStore({ path });
  stores.push(store);
  const pw = paywall(
    { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
    {
      rails: [
        evmEip3009Server({
          publicClient: net.evm.publicClient,
          walletClient: net.evm.walletClient('facilitator'),
          pollingIntervalMs: 5,
          chainId: d.evm.chainId,
          token: net.evm.token,
          payTo: payee,
        }),
      ],
      signer,
      issuer: 'https://shop.test',
      replay: { max: 0 },
      extensions: [paymentIdentifier({ store })],
    },
  );
  const handler = pw.wrap(async () => {
    runs++;
    return Response.json({ report: runs });
  });
  return { handler, store };
}

describe('payment-identifier over a persistent store', () => {
  it('after a restart, a second instance answers the same id + payment from the kept answer (no charge) and another payment under it with 409', async () => {
    const wallet = evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient });
    const a = instance();
    const sent: string[] = [];
    const toA: FetchLike = async (input, init) => {
      const request = new Request(input, init);
      const header = request.headers.get('PAYMENT-SIGNATURE');
      if (header !== null) sent.push(header);
      return a.handler(request);
    };
    const before = await net.evm.balanceOf(payee);
    const first = await payingFetch(toA, { adapters: [evmEip3009Client()], wallets: [wallet] })(URL_);
    expect(first.status).toBe(200);
    const firstBody = await first.json();
    expect(await net.evm.balanceOf(payee)).toBe(before + PRICE);
    const header = sent[0] ?? '';
    a.store.close(); // instance A goes away

    const b = instance();
    const runsBefore = runs;
    const again = await b.handler(new Request(URL_, { headers: { 'PAYMENT-SIGNATURE': header } }));
    expect(again.status).toBe(200);
    expect(again.headers.get(IDEMPOTENT_REPLAY_HEADER)).toBe('true');
    expect(again.headers.get('PAYMENT-RESPONSE')).toBe(first.headers.get('PAYMENT-RESPONSE'));
    expect(await again.json()).toEqual(firstBody);

    // Another payment under the same id → 409 on instance B.
    const offer = decodePaymentRequiredHeader(
      (await b.handler(new Request(URL_))).headers.get('PAYMENT-REQUIRED') ?? '',
    ).accepts[0];
    if (!offer) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, wallet, {
      resource: { url: URL_ },
      x402Version: 2,
      now: Date.now(),
    });
    const other = encodePaymentSignatureHeader({
      x402Version: 2,
      resource: { url: URL_ },
      accepted: offer,
      payload,
      extensions: decodePaymentSignatureHeader(header).extensions,
    });
    const conflict = await b.handler(new Request(URL_, { headers: { 'PAYMENT-SIGNATURE': other } }));
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ reason: 'payment_identifier_conflict' });
    expect(runs).toBe(runsBefore);
    expect(await net.evm.balanceOf(payee)).toBe(before + PRICE);
  });
});
