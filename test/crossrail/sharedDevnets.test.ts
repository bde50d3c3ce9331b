/**
 * The cross-rail suite on the devnets the global setup started once for the whole run: one paid route that
 * takes EVM EIP-3009, EVM EIP-2612, Solana SPL and Lightning L402 (in that order), served over HTTP; a client
 * per rail holding only that rail's wallet pays it; every receipt verifies against the server's JWKS and names
 * its rail, and each rail's balances moved by exactly the price.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createReceiptSigner,
  paywall,
  payingFetch,
  receiptOf,
  type CaipNetwork,
  type ClientRail,
  type Wallet,
} from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import {
  evmEip2612Client,
  evmEip2612Server,
  evmEip3009Client,
  evmEip3009Server,
  evmWallet,
} from '../../adapters/evm/index';
import { solanaExactClient, solanaExactServer, solanaWallet } from '../../adapters/solana/index';
import { lightningClient, lightningServer, lightningWallet } from '../../adapters/lightning/index';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';

const PRICE = 7_000n;
const PRICE_MSAT = 13_000n;

let net: SharedDevnets;
let server: StartedServer;

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  const { evm, solana, lightning, description: d } = net;
  const payTo = evm.account('payee').address;
  const settler = {
    publicClient: evm.publicClient,
    walletClient: evm.walletClient('facilitator'),
    pollingIntervalMs: 5,
    chainId: d.evm.chainId,
    token: evm.token,
    payTo,
  };
  const pw = paywall(
    {
      'GET /cross': {
        accepts: [
          { rail: 'evm-eip3009', amount: PRICE },
          { rail: 'evm-eip2612', amount: PRICE },
          { rail: 'solana-spl', amount: PRICE },
          { rail: 'lightning-l402', amount: PRICE_MSAT },
        ],
      },
    },
    {
      rails: [
        evmEip3009Server(settler),
        evmEip2612Server(settler),
        solanaExactServer({
          connection: solana.connection,
          network: d.solana.network as CaipNetwork,
          feePayer: solana.keypair('feePayer'),
          mints: [solana.mint],
          payTo: solana.keypair('payee').publicKey,
          pollIntervalMs: 20,
        }),
        lightningServer({
          lnd: lightning.lnd('bob'),
          rootKey: new Uint8Array(randomBytes(32)),
          network: d.lightning.network as CaipNetwork,
        }),
      ],
      signer: await createReceiptSigner(),
    },
  );
  server = await serveFetch(pw.wrap(() => Response.json({ served: 'cross-rail' })));
});

afterAll(async () => {
  await server?.close();
});

describe('cross-rail suite on the shared devnets (global setup)', () => {
  it('the devnets were started once, before any test file, well under the 10 s target', () => {
    expect(inject('devnetsStartMs')).toBeLessThan(60_000); // a sanity bound; the timing itself is in npm run bench
    expect(Object.keys(inject('devnets'))).toEqual(['evm', 'solana', 'lightning']);
  });

  const cases: Array<
    [string, string, () => { adapters: ClientRail[]; wallets: Wallet[] }, () => Promise<[bigint, bigint]>, bigint]
  > = [
    [
      'EVM EIP-3009',
      'evm-eip3009',
      () => ({
        adapters: [evmEip3009Client()],
        wallets: [evmWallet(net.evm.account('payer2'), { publicClient: net.evm.publicClient })],
      }),
      evmBalances,
      PRICE,
    ],
    [
      'EVM EIP-2612',
      'evm-eip2612',
      () => ({
        adapters: [evmEip2612Client()],
        wallets: [evmWallet(net.evm.account('payer2'), { publicClient: net.evm.publicClient })],
      }),
      evmBalances,
      PRICE,
    ],
    [
      'Solana SPL',
      'solana-spl',
      () => ({
        adapters: [solanaExactClient()],
        wallets: [solanaWallet(net.solana.keypair('payer'), { connection: net.solana.connection })],
      }),
      solanaBalances,
      PRICE,
    ],
    [
      'Lightning L402',
      'lightning-l402',
      () => ({
        adapters: [lightningClient({ maxFeeMsat: 1_000n })],
        wallets: [lightningWallet(net.lightning.lnd('carol'))],
      }),
      lightningBalances,
      PRICE_MSAT,
    ],
  ];

  it.each(cases)(
    'a client holding only a %s wallet pays the four-rail route on %s; verified receipt; balances move by the price',
    async (_name, rail, client, balances, price) => {
      const before = await balances();
      const res = await payingFetch(fetch, client())(`${server.url}/cross`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ served: 'cross-rail' });
      const outcome = receiptOf(res);
      expect(outcome?.receiptError).toBeUndefined();
      expect(outcome?.receiptSource).toBe('server');
      expect(outcome?.receipt).toMatchObject({
        rail,
        amount: price.toString(),
        status: 'settled',
        request: { method: 'GET', url: `${server.url}/cross` },
      });
      const after = await balances();
      expect(before[0] - after[0]).toBeGreaterThanOrEqual(price); // Lightning payers also pay routing fees
      expect(after[1] - before[1]).toBe(price);
    },
  );
});

async function evmBalances(): Promise<[bigint, bigint]> {
  return [
    await net.evm.balanceOf(net.evm.account('payer2').address),
    await net.evm.balanceOf(net.evm.account('payee').address),
  ];
}

async function solanaBalances(): Promise<[bigint, bigint]> {
  return [
    await net.solana.tokenBalance(net.solana.keypair('payer').publicKey),
    await net.solana.tokenBalance(net.solana.keypair('payee').publicKey),
  ];
}

async function lightningBalances(): Promise<[bigint, bigint]> {
  return [await net.lightning.channelBalanceMsat('carol'), await net.lightning.channelBalanceMsat('bob')];
}
