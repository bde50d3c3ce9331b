/**
 * Discovery without paying: the paywall serves its manifest at /.well-known/x402 (every paid route, its accepts per
 * rail quoted on the shared devnets, its call shape and bazaar metadata), its 402s carry `extensions.bazaar` as
 * @x402/extensions validates it, `discover(origin)` and `x402-rails discover <origin>` read it, and an MCP paywall
 * describes its tools as MCP items.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateDiscoveryExtension, type DiscoveryExtension } from '@x402/extensions/bazaar';
import { createReceiptSigner, decodePaymentRequiredHeader, discover, paywall } from '../../src/index';
import { bazaar } from '../../src/extensions/index';
import { mcpPaywall } from '../../src/mcp/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import { freshPayee, offers, serverRails } from '../mcp/support';
import { runCli } from '../cli/runCli';

let net: SharedDevnets;
let server: StartedServer;

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  const pw = paywall(
    {
      'GET /weather': {
        accepts: [offers.evm, offers.solana, offers.lightning],
        description: 'Weather now',
        mimeType: 'application/json',
        discovery: {
          serviceName: 'Weather',
          tags: ['weather'],
          input: { queryParams: { city: { type: 'string' } }, example: { city: 'Paris' } },
          output: { example: { tempC: 21 } },
        },
      },
      'POST /summarize': {
        accepts: [offers.evm],
        discovery: {
          input: { body: { type: 'object', properties: { text: { type: 'string' } } }, example: { text: 'hello' } },
        },
      },
    },
    { rails: serverRails(net, freshPayee()), signer: await createReceiptSigner(), extensions: [bazaar()] },
  );
  server = await serveFetch(pw.wrap(() => Response.json({ tempC: 21 })));
});
afterAll(async () => {
  await server?.close();
});

describe('discovery', () => {
  it('GET /.well-known/x402 lists every paid route with its accepts on every rail (no challenge token), call shape and metadata', async () => {
    const res = await fetch(`${server.url}/.well-known/x402`);
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as Awaited<ReturnType<typeof discover>>;
    expect(manifest.x402Version).toBe(2);
    const [weather, summarize] = manifest.items;
    expect(weather).toMatchObject({
      type: 'http',
      resource: { url: `${server.url}/weather`, description: 'Weather now', serviceName: 'Weather', tags: ['weather'] },
      input: { method: 'GET', routeTemplate: '/weather' },
      output: { example: { tempC: 21 } },
    });
    expect(weather?.accepts.map((a) => [a.network, a.amount])).toEqual([
      [net.description.evm.network, offers.evm.amount.toString()],
      [net.description.solana.network, offers.solana.amount.toString()],
      [net.description.lightning.network, offers.lightning.amount.toString()],
    ]);
    for (const a of weather?.accepts ?? []) expect(a.extra.challenge).toBeUndefined();
    expect(summarize).toMatchObject({ input: { method: 'POST', bodyType: 'json' } });
    for (const item of manifest.items)
      expect(validateDiscoveryExtension((item.extensions as { bazaar: DiscoveryExtension }).bazaar)).toEqual({
        valid: true,
      });
    expect((await fetch(`${server.url}/.well-known/x402.json`)).status).toBe(200);
  });

  it('every 402 of a described route carries extensions.bazaar that the official validator accepts', async () => {
    const res = await fetch(`${server.url}/weather?city=Paris`);
    const required = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
    const declared = required.extensions?.bazaar as DiscoveryExtension;
    expect(declared.info).toMatchObject({
      input: { type: 'http', method: 'GET', queryParams: { city: 'Paris' } },
      output: { example: { tempC: 21 } },
    });
    expect(validateDiscoveryExtension(declared)).toEqual({ valid: true });
  });

  it('discover(origin) reads the manifest; an origin without one is a clear error', async () => {
    const manifest = await discover(server.url);
    expect(manifest.items.map((i) => i.resource.url)).toEqual([`${server.url}/weather`, `${server.url}/summarize`]);
    const bare = await serveFetch(() => new Response('nothing here', { status: 404 }));
    try {
      await expect(discover(bare.url)).rejects.toThrow(/publishes no x402 discovery manifest/);
    } finally {
      await bare.close();
    }
  });

  it('x402-rails discover <origin> prints each route with its price per rail', async () => {
    const run = await runCli(['discover', server.url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`GET ${server.url}/weather  Weather — Weather now [weather]`);
    expect(run.stdout).toContain(`${net.description.solana.network}`);
    expect(run.stdout).toMatch(
      new RegExp(
        `exact\\s+${net.description.lightning.network.replace(':', ':')}\\s+${offers.lightning.amount} of msat`,
      ),
    );
    const json = await runCli(['discover', server.url, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ x402Version: 2, items: [{ type: 'http' }, { type: 'http' }] });
  });

  it('an MCP paywall describes its paid tools as MCP items with their input schema (bazaar mcp form)', async () => {
    const tools = mcpPaywall(
      {
        forecast: {
          accepts: [offers.evm],
          description: 'Forecast',
          discovery: { input: { inputSchema: { type: 'object', properties: { city: { type: 'string' } } } } },
        },
      },
      {
        rails: serverRails(net, freshPayee()),
        signer: await createReceiptSigner(),
        issuer: 'https://tools.test',
        extensions: [bazaar()],
      },
    );
    const manifest = await tools.manifest();
    expect(manifest.items[0]).toMatchObject({
      type: 'mcp',
      resource: { url: 'mcp://tool/forecast' },
      input: { toolName: 'forecast', inputSchema: { properties: { city: { type: 'string' } } } },
    });
    expect(
      validateDiscoveryExtension((manifest.items[0]!.extensions as { bazaar: DiscoveryExtension }).bazaar),
    ).toEqual({ valid: true });
    const unpaid = await tools.call({ name: 'forecast', arguments: { city: 'Oslo' } }, () => ({ content: [] }));
    const declared = (unpaid.structuredContent as { extensions: { bazaar: DiscoveryExtension } }).extensions.bazaar;
    expect(declared.info).toMatchObject({ input: { type: 'mcp', toolName: 'forecast' } });
    expect(validateDiscoveryExtension(declared)).toEqual({ valid: true });
  });
});
