import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { pay } from 'ln-service';
import { wrapFetchWithPayment } from '@x402/fetch';
import { Challenge, Receipt } from 'mppx';
import { Mppx, evm } from 'mppx/client';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  paywall,
  verifyReceipt,
  MPP_SIGNED_RECEIPT_KEY,
  type Paywall,
} from '../../src/index';
import { lightningServer, parseL402Challenges } from '../../adapters/lightning/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { PRICE } from '../support/evmHarness';
import { LN_PRICE } from '../support/lightningHarness';
import { eip3009Rail, payerPayeeBalances } from '../adversary/support/evmFlow';
import { officialEvmClient } from './support/officialEvm';

/**
 * Issue 16: one route offering x402 + L402 + MPP in one 402 (PAYMENT-REQUIRED with an EVM and a Lightning offer,
 * WWW-Authenticate with an L402 and a Payment challenge), paid by the official x402 client, a plain L402 client
 * and the mppx client, each exactly once: each served once, each moving its price once.
 */

let evmNet: EvmDevnet;
let lnNet: LightningDevnet;
let pw: Paywall;
let server: StartedServer;
let runs = 0;

beforeAll(async () => {
  [evmNet, lnNet] = await Promise.all([startEvmDevnet(), startLightningDevnet()]);
  const ln = lightningServer({
    lnd: lnNet.nodes.bob.lnd,
    network: lnNet.network,
    rootKey: new Uint8Array(randomBytes(32)),
  });
  pw = paywall(
    {
      'GET /multi': {
        accepts: [
          { rail: 'evm-eip3009', amount: PRICE },
          { rail: ln.id, amount: LN_PRICE },
        ],
        description: 'one route, three protocols',
      },
    },
    { rails: [eip3009Rail(evmNet), ln], signer: await createReceiptSigner() },
  );
  server = await serveFetch(
    pw.wrap(async () => {
      runs += 1;
      return Response.json({ ok: true });
    }),
  );
});
afterAll(async () => {
  await server?.close();
  await Promise.all([evmNet?.stop(), lnNet?.stop()]);
});

const lnBalances = () => ({ alice: lnNet.channelBalance('alice'), bob: lnNet.channelBalance('bob') });

describe('one route, x402 + L402 + MPP, three real clients', () => {
  it('the 402 carries every protocol: two x402 offers, an L402 challenge and two MPP challenges (evm, lightning)', async () => {
    const res = await fetch(`${server.url}/multi`);
    expect(res.status).toBe(402);
    const accepts = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
    expect(accepts.map((a) => a.network)).toEqual([evmNet.network, lnNet.network]);
    const www = res.headers.get('WWW-Authenticate') ?? '';
    expect(parseL402Challenges(www)).toHaveLength(1);
    expect(Challenge.fromResponseList(res).map((c) => `${c.method}/${c.intent}`)).toEqual([
      'evm/charge',
      'lightning/charge',
    ]);
  });

  it('the official x402 client pays x402 once', async () => {
    const before = await payerPayeeBalances(evmNet);
    const runsBefore = runs;
    const res = await wrapFetchWithPayment(
      fetch,
      officialEvmClient(evmNet, 'payer', { maxAmountPerPayment: PRICE.toString() }),
    )(`${server.url}/multi`);
    expect(res.status).toBe(200);
    expect(runs - runsBefore).toBe(1);
    const after = await payerPayeeBalances(evmNet);
    expect([before.payer - after.payer, after.payee - before.payee]).toEqual([PRICE, PRICE]);
  });

  it('a plain L402 client pays L402 once (invoice from WWW-Authenticate, Authorization: L402 mac:preimage)', async () => {
    const before = lnBalances();
    const runsBefore = runs;
    const challenge = await fetch(`${server.url}/multi`);
    const [l402] = parseL402Challenges(challenge.headers.get('WWW-Authenticate') ?? '');
    if (!l402) throw new Error('no L402 challenge');
    const { secret } = await pay({ lnd: lnNet.nodes.alice.lnd, request: l402.invoice, max_fee_mtokens: '1000' });
    const res = await fetch(`${server.url}/multi`, { headers: { Authorization: `L402 ${l402.macaroon}:${secret}` } });
    expect(res.status).toBe(200);
    expect(runs - runsBefore).toBe(1);
    const after = lnBalances();
    expect([before.alice - after.alice, after.bob - before.bob]).toEqual([LN_PRICE, LN_PRICE]);
  });

  it('the mppx client pays MPP once, and its receipt says so', async () => {
    const before = await payerPayeeBalances(evmNet, 'payer2');
    const runsBefore = runs;
    const account = privateKeyToAccount(evmNet.accounts.payer2.privateKey as Hex);
    const mppx = Mppx.create({
      methods: [evm.charge({ account, authorization: { name: evmNet.token.name, version: evmNet.token.version } })],
      polyfill: false,
    });
    const res = await mppx.fetch(`${server.url}/multi`);
    expect(res.status).toBe(200);
    expect(runs - runsBefore).toBe(1);
    const after = await payerPayeeBalances(evmNet, 'payer2');
    expect([before.payer - after.payer, after.payee - before.payee]).toEqual([PRICE, PRICE]);
    const receipt = Receipt.fromResponse(res) as Record<string, unknown>;
    const signed = await verifyReceipt(receipt[MPP_SIGNED_RECEIPT_KEY], pw.jwks());
    expect(signed).toMatchObject({ protocol: 'mpp', payer: evmNet.accounts.payer2.address, amount: PRICE.toString() });
  });
});
