/**
 * payment-identifier over MCP: the tool's payment-required result declares it, the paying MCP client sends an id,
 * and the same `_meta["x402/payment"]` sent again (an agent retrying after a lost answer) gets the kept tool result
 * and settlement without running the tool or charging again, past the replay bound; another payment with that id is
 * refused (409).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { PaymentPayload } from '../../src/index';
import { paymentIdentifier } from '../../src/extensions/index';
import { mcpMetaKeys, paymentRequiredOf, payingMcpClient, type McpPaywall } from '../../src/mcp/index';
import { evmEip3009Client, evmWallet } from '../../adapters/evm/index';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import {
  ISSUER,
  PRICE,
  connectInMemory,
  freshPayee,
  jwksFetchOf,
  offers,
  paidMcpServer,
  toolPaywall,
  type Runs,
} from './support';

let net: SharedDevnets;
let pw: McpPaywall;
let client: Client;
const runs: Runs = {};
const payee = freshPayee();

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  pw = await toolPaywall(net, { forecast: { accepts: [offers.evm] } }, payee, {
    replay: { max: 0 },
    extensions: [paymentIdentifier()],
  });
  client = await connectInMemory(paidMcpServer(pw, runs));
});
afterAll(async () => {
  await client?.close();
});

describe('payment-identifier over MCP', () => {
  it('a retried tool call with the same payment gets the kept result, no second run or charge; the id with another payment → 409', async () => {
    const unpaid = (await client.callTool({ name: 'forecast', arguments: { city: 'Nice' } })) as CallToolResult;
    expect(paymentRequiredOf(unpaid)?.extensions?.['payment-identifier']).toMatchObject({ info: { required: false } });

    const sent: PaymentPayload[] = [];
    const recording = {
      callTool: ((params: Parameters<Client['callTool']>[0], ...rest: unknown[]) => {
        const payment = params._meta?.[mcpMetaKeys.payment] as PaymentPayload | undefined;
        if (payment) sent.push(payment);
        return client.callTool(params, ...(rest as []));
      }) as Client['callTool'],
    };
    const wallet = evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient });
    const before = await net.evm.balanceOf(payee);
    const first = await payingMcpClient(recording, {
      adapters: [evmEip3009Client()],
      wallets: [wallet],
      origin: ISSUER,
      fetch: jwksFetchOf(pw),
    }).callTool({ name: 'forecast', arguments: { city: 'Nice' } });
    expect(first.content).toEqual([{ type: 'text', text: 'Sunny in Nice' }]);
    const [payment] = sent;
    expect(payment?.extensions?.['payment-identifier']).toMatchObject({
      info: { id: expect.stringMatching(/^pay_[0-9a-f]{32}$/) },
    });

    for (let i = 0; i < 2; i++) {
      const again = (await client.callTool({
        name: 'forecast',
        arguments: { city: 'Nice' },
        _meta: { [mcpMetaKeys.payment]: payment },
      })) as CallToolResult;
      expect(again.content).toEqual([{ type: 'text', text: 'Sunny in Nice' }]);
      expect(again._meta?.[mcpMetaKeys.paymentResponse]).toEqual(first._meta?.[mcpMetaKeys.paymentResponse]);
    }
    const offer = paymentRequiredOf(unpaid)?.accepts[0];
    if (!offer || !payment) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, wallet, {
      resource: { url: 'mcp://tool/forecast' },
      x402Version: 2,
      now: Date.now(),
    });
    const other = (await client.callTool({
      name: 'forecast',
      arguments: { city: 'Nice' },
      _meta: { [mcpMetaKeys.payment]: { ...payment, accepted: offer, payload } },
    })) as CallToolResult;
    expect(other._meta?.[mcpMetaKeys.error]).toMatchObject({ status: 409, reason: 'payment_identifier_conflict' });

    expect(runs.forecast).toBe(1);
    expect((await net.evm.balanceOf(payee)) - before).toBe(PRICE);
  });
});
