/**
 * The facilitator's `GET /discovery/resources` (bazaar), fed by the resource servers that settle through it: a paywall
 * settling through our facilitator with `remoteRail` gets its paid resource listed (accepts entry without challenge
 * token), a payment echoing a `bazaar` extension gets it kept, the list is public while /settle keeps its key, and a
 * refused settlement lists nothing.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createReceiptSigner, payingFetch, paywall, type PaymentRequirements, type ServerRail } from '../../src/index';
import {
  remoteRail,
  startFacilitator,
  type DiscoveryResourcesResponse,
  type StartedFacilitator,
} from '../../src/facilitator/index';
import { evmEip3009Client, evmEip3009Server, evmWallet } from '../../adapters/evm/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import { freshPayee } from '../mcp/support';

const KEY = 'discovery-test-key-0123456789abcdef';
const PRICE = 4_000n;
let net: SharedDevnets;
let facilitator: StartedFacilitator;
let server: StartedServer;
let local: ServerRail;

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  const d = net.description;
  local = evmEip3009Server({
    publicClient: net.evm.publicClient,
    walletClient: net.evm.walletClient('facilitator'),
    pollingIntervalMs: 5,
    chainId: d.evm.chainId,
    token: net.evm.token,
    payTo: freshPayee(),
  });
  facilitator = await startFacilitator({ rails: [local], apiKeys: [KEY] });
  const rail = remoteRail({
    id: local.id,
    url: facilitator.url,
    apiKey: KEY,
    supports: local.supports,
    quote: local.quote,
    paymentId: local.paymentId,
  });
  const pw = paywall(
    { 'GET /forecast': { accepts: [{ rail: local.id, amount: PRICE }], description: 'Forecast' } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  server = await serveFetch(pw.wrap(() => Response.json({ sunny: true })));
});
afterAll(async () => {
  await server?.close();
  await facilitator?.close();
});

const list = async (query = ''): Promise<DiscoveryResourcesResponse> => {
  const res = await fetch(`${facilitator.url}/discovery/resources${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as DiscoveryResourcesResponse;
};

describe('facilitator discovery', () => {
  it('starts empty and is public (no key), while /settle still wants the key', async () => {
    expect(await list()).toEqual({ x402Version: 2, items: [], pagination: { limit: 100, offset: 0, total: 0 } });
    expect((await fetch(`${facilitator.url}/settle`, { method: 'POST', body: '{}' })).status).toBe(401);
  });

  it('a resource server settling through it gets its paid resource listed with the accepts entry it was paid on', async () => {
    const res = await payingFetch(fetch, {
      adapters: [evmEip3009Client()],
      wallets: [evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient })],
    })(`${server.url}/forecast`);
    expect(res.status).toBe(200);
    const { items, pagination } = await list('?type=http');
    expect(pagination.total).toBe(1);
    expect(items[0]).toMatchObject({
      resource: `${server.url}/forecast`,
      type: 'http',
      x402Version: 2,
      accepts: [{ scheme: 'exact', network: net.description.evm.network, amount: PRICE.toString() }],
    });
    expect(items[0]?.accepts[0]?.extra.challenge).toBeUndefined();
    expect(Date.parse(items[0]?.lastUpdated ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect((await list('?type=mcp')).items).toEqual([]);
  });

  it('a payment that echoes the bazaar extension (as official clients do) keeps it; a refused settlement lists nothing', async () => {
    const url = 'mcp://tool/forecast';
    const offer: PaymentRequirements = await local.quote(
      { rail: local.id, amount: PRICE },
      { request: { method: 'POST', url, bodyHash: '' }, resource: { url }, now: Date.now() },
    );
    const wallet = evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient });
    const bazaar = {
      info: { input: { type: 'mcp', toolName: 'forecast', inputSchema: { type: 'object' } } },
      schema: { type: 'object' },
    };
    const settle = async (payer: typeof wallet, amount = offer.amount) => {
      const payload = await evmEip3009Client().createPayment({ ...offer, amount }, payer, {
        resource: { url },
        x402Version: 2,
        now: Date.now(),
      });
      const body = {
        x402Version: 2,
        paymentPayload: {
          x402Version: 2,
          resource: { url, description: 'Forecast tool' },
          accepted: offer,
          payload,
          extensions: { bazaar },
        },
        paymentRequirements: offer,
      };
      return (
        await fetch(`${facilitator.url}/settle`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json();
    };
    // Signed for a tenth of the price: refused, not listed.
    expect(await settle(wallet, (PRICE / 10n).toString())).toMatchObject({ success: false });
    expect((await list('?type=mcp')).items).toEqual([]);
    expect(await settle(wallet)).toMatchObject({ success: true });
    expect((await list('?type=mcp')).items).toEqual([
      expect.objectContaining({ resource: url, type: 'mcp', description: 'Forecast tool', extensions: { bazaar } }),
    ]);
    expect((await list('?limit=1&offset=1')).pagination).toEqual({ limit: 1, offset: 1, total: 2 });
  });
});
