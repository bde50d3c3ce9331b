/**
 * Attack (#12 finding 10, server part): receipts that name any origin. The paywall signed receipts with the
 * request's origin as issuer, i.e. whatever Host header the request carried: a stranger who sends
 * `Host: bank.example` to the server gets a receipt, signed with the server's key, in which the server vouches
 * to be bank.example.
 *
 * Guarantee: the issuer is configuration. A paywall created without one refuses to start outside
 * development/test (ConfigurationError), and a paid request over a real socket with a forged Host gets a receipt
 * naming the configured issuer only (it still binds the URL the request named: that is what was paid for).
 * On anvil: payee + 1 price.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import {
  ConfigurationError,
  createReceiptSigner,
  decodePaymentRequiredHeader,
  paywall,
  verifyReceipt,
  type PaymentRequirements,
} from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { PRICE } from '../support/evmHarness';
import { eip3009Rail, paymentHeader, receiptIn } from './support/evmFlow';

const ISSUER = 'https://shop.example';
const FORGED = 'bank.example';
let devnet: EvmDevnet;
let server: StartedServer;
let jwks: () => ReturnType<Awaited<ReturnType<typeof createReceiptSigner>>['jwks']>;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const signer = await createReceiptSigner();
  jwks = () => signer.jwks();
  const pw = paywall(
    { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
    { rails: [eip3009Rail(devnet)], signer, issuer: ISSUER },
  );
  server = await serveFetch(pw.wrap(() => Response.json({ report: 'paid' })));
});
afterAll(async () => {
  await server?.close();
  await devnet?.stop();
});

/** A GET over a real socket with the Host header of our choosing; answers the status and headers as a Response. */
function getWithHost(host: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: server.port, path: '/report', method: 'GET', headers: { ...headers, Host: host } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') out.set(name, value);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: out }));
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('receipts and the Host header', () => {
  it('a paid request with a forged Host gets a receipt naming the configured issuer, not that host', async () => {
    const host = `${FORGED}:${server.port}`;
    const before = await devnet.balanceOf(devnet.accounts.payee.address);
    const challenge = await getWithHost(host);
    expect(challenge.status).toBe(402);
    const [offer] = decodePaymentRequiredHeader(challenge.headers.get('PAYMENT-REQUIRED') ?? '').accepts as [
      PaymentRequirements,
    ];
    const url = `http://${host}/report`;
    const paid = await getWithHost(host, { 'PAYMENT-SIGNATURE': await paymentHeader(devnet, offer, url) });
    expect(paid.status).toBe(200);
    const receipt = receiptIn(paid);
    expect(receipt?.issuer).toBe(ISSUER);
    expect(JSON.stringify({ ...receipt, request: undefined })).not.toContain(FORGED);
    expect(receipt?.request.url).toBe(url);
    // it verifies only as the configured issuer's receipt
    await expect(verifyReceipt(receipt, jwks(), { issuer: ISSUER })).resolves.toMatchObject({ issuer: ISSUER });
    await expect(verifyReceipt(receipt, jwks(), { issuer: `http://${host}` })).rejects.toThrow();
    expect(await devnet.balanceOf(devnet.accounts.payee.address)).toBe(before + PRICE);
  });

  it('a paywall without an issuer refuses to start outside development and test', async () => {
    const signer = await createReceiptSigner();
    const make = (issuer?: string) =>
      paywall(
        { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
        { rails: [eip3009Rail(devnet)], signer, ...(issuer === undefined ? {} : { issuer }) },
      );
    const saved = process.env.NODE_ENV;
    try {
      for (const env of ['production', undefined, 'staging']) {
        if (env === undefined) delete process.env.NODE_ENV;
        else process.env.NODE_ENV = env;
        expect(() => make()).toThrow(ConfigurationError);
        expect(() => make('not a url')).toThrow(ConfigurationError);
        expect(() => make('ftp://shop.example')).toThrow(ConfigurationError);
        expect(make(ISSUER).covers('GET', '/report')).toBe(true);
      }
      process.env.NODE_ENV = 'development';
      expect(make().covers('GET', '/report')).toBe(true);
    } finally {
      process.env.NODE_ENV = saved;
    }
  });
});
