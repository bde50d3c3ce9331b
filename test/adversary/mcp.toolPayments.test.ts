/**
 * Attacks on paid MCP tools, on the shared devnets with the real SDK client and server (in memory): a payment taken
 * from one call and presented again (same call, another tool, other arguments), an offer altered before paying,
 * arguments altered in transit, and a client over its budget. Each is refused: the tool does not run again, the payee
 * is paid once, and the client's budget stops it before any money moves.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { NoAcceptableOfferError, type PaymentPayload, type PaymentRequirements } from '../../src/index';
import { mcpMetaKeys, paymentRequiredOf, payingMcpClient, toolPaymentOf, type McpPaywall } from '../../src/mcp/index';
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
} from '../mcp/support';

let net: SharedDevnets;
let pw: McpPaywall;
let client: Client;
const runs: Runs = {};
const payee = freshPayee();

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  // No replays of a settled payment (the default serves an identical resend a few times, for lost answers).
  pw = await toolPaywall(net, { forecast: { accepts: [offers.evm] }, echo: { accepts: [offers.evm] } }, payee, {
    replay: { max: 0 },
  });
  client = await connectInMemory(paidMcpServer(pw, runs));
});
afterAll(async () => {
  await client?.close();
});

const wallet = () => evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient });
const payeeBalance = () => net.evm.balanceOf(payee);
const call = async (name: string, args: Record<string, unknown>, payment?: PaymentPayload): Promise<CallToolResult> =>
  (await client.callTool({
    name,
    arguments: args,
    ...(payment ? { _meta: { [mcpMetaKeys.payment]: payment } } : {}),
  })) as CallToolResult;

/** A payment for the first offer `name` answers, signed by the payer, optionally for an altered offer. */
async function paymentFor(
  name: string,
  args: Record<string, unknown>,
  alter: (offer: PaymentRequirements) => PaymentRequirements = (o) => o,
): Promise<PaymentPayload> {
  const required = paymentRequiredOf(await call(name, args));
  const offer = required?.accepts[0];
  if (!offer) throw new Error('no offer');
  const accepted = alter(offer);
  const payload = await evmEip3009Client().createPayment(accepted, wallet(), {
    resource: { url: `mcp://tool/${name}` },
    x402Version: 2,
    now: Date.now(),
  });
  return { x402Version: 2, resource: { url: `mcp://tool/${name}` }, accepted, payload };
}

const reasonOf = (result: CallToolResult) =>
  paymentRequiredOf(result)?.error ?? (result._meta?.[mcpMetaKeys.error] as { reason?: string } | undefined)?.reason;

describe('MCP tool payments under attack', () => {
  it('one payment buys one call: presented again for the same call (409), another tool (challenge_invalid) or other arguments (payment_already_used) → refused, tool ran once, payee +PRICE once', async () => {
    const before = await payeeBalance();
    const payment = await paymentFor('forecast', { city: 'Paris' });
    const first = await call('forecast', { city: 'Paris' }, payment);
    expect(first.content).toEqual([{ type: 'text', text: 'Sunny in Paris' }]);
    expect(first._meta?.[mcpMetaKeys.paymentResponse]).toMatchObject({ success: true });

    const again = await call('forecast', { city: 'Paris' }, payment);
    expect(again.isError).toBe(true);
    expect(again._meta?.[mcpMetaKeys.error]).toMatchObject({ status: 409, reason: 'replay_limit_reached' });
    expect(again.content).not.toContainEqual({ type: 'text', text: 'Sunny in Paris' });

    const otherTool = await call('echo', { text: 'Paris' }, payment);
    expect(reasonOf(otherTool)).toBe('challenge_invalid');
    const otherArgs = await call('forecast', { city: 'Berlin' }, payment);
    expect(reasonOf(otherArgs)).toBe('payment_already_used');

    expect(runs.forecast).toBe(1);
    expect(runs.echo ?? 0).toBe(0);
    expect((await payeeBalance()) - before).toBe(PRICE);
  });

  it('an offer altered before paying (a tenth of the price) is refused (challenge_invalid); nothing runs, nothing moves', async () => {
    const before = await payeeBalance();
    const runsBefore = runs.echo ?? 0;
    const cheap = await paymentFor('echo', { text: 'hi' }, (o) => ({
      ...o,
      amount: (BigInt(o.amount) / 10n).toString(),
    }));
    const result = await call('echo', { text: 'hi' }, cheap);
    expect(reasonOf(result)).toBe('challenge_invalid');
    expect(runs.echo ?? 0).toBe(runsBefore);
    expect(await payeeBalance()).toBe(before);
  });

  it('a malformed _meta payment is a clear 400 error result, not a crash', async () => {
    const result = (await client.callTool({
      name: 'echo',
      arguments: { text: 'x' },
      _meta: { [mcpMetaKeys.payment]: { x402Version: 2, accepted: 'nope' } },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(result._meta?.[mcpMetaKeys.error]).toMatchObject({ status: 400, reason: 'invalid_payload' });
  });

  it('arguments altered in transit are caught by the receipt: it binds the arguments the tool ran on, not those the client sent', async () => {
    const tampering = {
      callTool: ((params: Parameters<Client['callTool']>[0], ...rest: unknown[]) =>
        client.callTool({ ...params, arguments: { city: 'Mordor' } }, ...(rest as []))) as Client['callTool'],
    };
    const paying = payingMcpClient(tampering, {
      adapters: [evmEip3009Client()],
      wallets: [wallet()],
      origin: ISSUER,
      fetch: jwksFetchOf(pw),
    });
    const result = await paying.callTool({ name: 'forecast', arguments: { city: 'Shire' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Sunny in Mordor' }]);
    const outcome = toolPaymentOf(result);
    expect(outcome?.receipt).toBeUndefined();
    expect(outcome?.receiptError?.message).toMatch(/request|body/i);
  });

  it('over budget: the client refuses before paying (NoAcceptableOfferError budget_exceeded); the tool never runs, the payee is not paid', async () => {
    const asset = net.evm.token.address;
    const paying = payingMcpClient(client, {
      adapters: [evmEip3009Client()],
      wallets: [wallet()],
      origin: ISSUER,
      fetch: jwksFetchOf(pw),
      policy: { budgets: [{ asset, limit: PRICE + PRICE / 2n, window: 'total' }] },
    });
    const before = await payeeBalance();
    const runsBefore = runs.echo ?? 0;
    await expect(paying.callTool({ name: 'echo', arguments: { text: 'one' } })).resolves.toMatchObject({
      content: [{ type: 'text', text: 'one' }],
    });
    const refused = await paying.callTool({ name: 'echo', arguments: { text: 'two' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NoAcceptableOfferError);
    expect((refused as NoAcceptableOfferError).details).toMatchObject({ rejections: [{ reason: 'budget_exceeded' }] });
    expect(runs.echo).toBe(runsBefore + 1);
    expect((await payeeBalance()) - before).toBe(PRICE);
  });
});
