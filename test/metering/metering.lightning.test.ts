/**
 * Metered usage on the Lightning devnet (LND-protocol stand-in): one L402 deposit, metered calls that move
 * nothing, and a close where the client supplies a BOLT11 refund invoice for exactly the unused msat and the
 * server's node pays it (channel balances), once; a wrong-amount invoice is refused with nothing paid.
 */
import { createInvoice } from 'ln-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatL402Authorization,
  lightningClient,
  lightningRefunder,
  lightningServer,
  lightningWallet,
  parseL402Challenge,
  payInvoice,
} from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { verifyReceipt } from '../../src/core/receipt';
import { capabilityTokenByRail } from '../../src/capabilities/capabilityTokenByRail';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { macaroonCapabilityToken } from '../../src/capabilities/macaroonCapabilityToken';
import { decodeMeteringReceipt } from '../../src/metering/meteringReceipt';
import { macaroonFromBase64 } from '../../src/protocol/macaroon';
import { randomBytes } from 'node:crypto';
import { ORIGIN, devnetMetering, type DevnetMetering } from './devnetMetering';

const DEPOSIT = 100_000n; // 100 sat
let devnet: LightningDevnet;
let server: DevnetMetering;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  const rail = lightningServer({
    lnd: devnet.nodes.bob.lnd,
    network: devnet.network,
    rootKey: new Uint8Array(randomBytes(32)),
  });
  // Sessions bought over Lightning are macaroons (the Lightning-native form of the capability token formats).
  const token = capabilityTokenByRail({
    default: await jwsCapabilityToken(),
    rails: { 'lightning-l402': macaroonCapabilityToken({ rootKey: randomBytes(32) }) },
  });
  server = await devnetMetering({
    rail,
    deposit: DEPOSIT,
    maxUnitsPerCall: 100n,
    unitPrice: 100n,
    refunder: lightningRefunder({ lnd: devnet.nodes.bob.lnd }),
    token,
  });
});
afterAll(async () => {
  await devnet?.stop();
});

const invoiceFor = async (msat: bigint) =>
  (await createInvoice({ lnd: devnet.nodes.alice.lnd, mtokens: msat.toString() })).request;

describe('metered usage on the Lightning devnet', () => {
  it('deposit once over L402, meter calls, refund the unused msat to a client invoice on close, once', async () => {
    const client = server.client(
      {
        adapters: [lightningClient({ maxFeeMsat: 1_000n })],
        wallets: [lightningWallet(devnet.nodes.alice.lnd)],
        verifyReceipts: false,
      },
      async ({ amount }) => invoiceFor(amount),
    );
    const start = { alice: devnet.channelBalance('alice'), bob: devnet.channelBalance('bob') };
    const seen: string[] = [];
    for (const units of ['40', '100', '5']) {
      const res = await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': units } });
      expect(res.status).toBe(200);
      const receipt = await verifyReceipt(
        decodeMeteringReceipt(res.headers.get('X402-Metering-Receipt')),
        server.pw.jwks(),
      );
      expect(receipt.asset).toBe('msat');
      seen.push(`${receipt.metering?.used}/${receipt.metering?.remaining}`);
    }
    expect(seen).toEqual(['4000/96000', '14000/86000', '14500/85500']);
    const [held] = client.sessions(ORIGIN);
    expect(macaroonFromBase64(held?.token ?? '').location).toBe('x402-capability');
    expect(held?.lastReceipt?.metering?.used).toBe('14500');
    expect(devnet.channelBalance('bob') - start.bob).toBe(DEPOSIT);
    const paid = start.alice - devnet.channelBalance('alice');

    const [closed] = await client.close(ORIGIN);
    expect(closed?.refund).toMatchObject({ status: 'sent', amount: '85500' });
    expect(closed?.refund.reference).toMatch(/^[0-9a-f]{64}$/);
    expect(await verifyReceipt(closed?.receipt, server.pw.jwks())).toMatchObject({
      metering: { final: true, used: '14500', refund: { status: 'sent', amount: '85500' } },
    });
    expect(devnet.channelBalance('bob') - start.bob).toBe(14_500n);
    expect(start.alice - devnet.channelBalance('alice')).toBe(paid - 85_500n);

    const again = await server.meter.close(closed?.session ?? '', { refundTo: await invoiceFor(85_500n) });
    expect(again?.receipt).toEqual(closed?.receipt);
    expect(devnet.channelBalance('bob') - start.bob).toBe(14_500n);
  });

  it('close without an invoice asks for one; an invoice for another amount is refused and nothing is paid', async () => {
    const client = server.client({
      adapters: [lightningClient({ maxFeeMsat: 1_000n })],
      wallets: [lightningWallet(devnet.nodes.alice.lnd)],
      verifyReceipts: false,
    });
    const res = await client(`${ORIGIN}/llm`, { method: 'POST', headers: { 'x-units': '10' } });
    const session = res.headers.get('X402-Metering-Session') ?? '';
    const close = (refundTo?: string) =>
      server.fetch(`${ORIGIN}/llm`, {
        method: 'POST',
        headers: {
          'X402-Metering-Session': session,
          'X402-Metering-Close': '1',
          ...(refundTo ? { 'X402-Metering-Refund-To': refundTo } : {}),
        },
      });
    const asked = await close();
    expect(((await asked.json()) as { refund: unknown }).refund).toEqual({
      status: 'awaiting_destination',
      amount: '99000',
    });
    const bob = devnet.channelBalance('bob');
    const wrong = await close(await invoiceFor(99_001n));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { code: string; message: string }).message).toMatch(/amount_mismatch/);
    expect(devnet.channelBalance('bob')).toBe(bob);
    const right = await close(await invoiceFor(99_000n));
    expect(((await right.json()) as { refund: { status: string } }).refund.status).toBe('sent');
    expect(bob - devnet.channelBalance('bob')).toBe(99_000n);
    const used = await server.fetch(`${ORIGIN}/llm`, { method: 'POST', headers: { 'X402-Metering-Session': session } });
    expect(used.headers.get('X402-Metering-Error')).toBe('metering_closed');
  });

  it('a reused L402 credential draws on its session, and is refused once the session is closed', async () => {
    const challenge = parseL402Challenge(
      (await server.fetch(`${ORIGIN}/llm`, { method: 'POST' })).headers.get('WWW-Authenticate') ?? '',
    );
    if (!challenge) throw new Error('no L402 challenge');
    const { preimage } = await payInvoice({
      lnd: devnet.nodes.alice.lnd,
      invoice: challenge.invoice,
      amountMsat: DEPOSIT,
      now: Date.now(),
    });
    const authorization = formatL402Authorization({ macaroons: [challenge.macaroon], preimage });
    const send = (body: string, units: string) =>
      server.fetch(`${ORIGIN}/llm`, {
        method: 'POST',
        headers: { Authorization: authorization, 'x-units': units },
        body,
      });
    const first = await send('', '10');
    expect(first.status).toBe(200);
    const session = first.headers.get('X402-Metering-Session') ?? '';
    // The same request again (a resend after a lost answer) is a call on the session too: it hands the session
    // back and is drawn like any call. (Before #12 it was served without drawing, even after the close: the bug.)
    const retried = await send('', '10');
    expect(retried.headers.get('X402-Metering-Session')).toBe(session);
    expect(decodeMeteringReceipt(retried.headers.get('X402-Metering-Receipt'))?.metering).toMatchObject({
      charged: '1000',
      used: '2000',
    });
    const reused = await send('another prompt', '20');
    expect(reused.status).toBe(200);
    expect(decodeMeteringReceipt(reused.headers.get('X402-Metering-Receipt'))?.metering).toMatchObject({
      charged: '2000',
      used: '4000',
    });
    const closed = await server.fetch(`${ORIGIN}/llm`, {
      method: 'POST',
      headers: {
        'X402-Metering-Session': session,
        'X402-Metering-Close': '1',
        'X402-Metering-Refund-To': await invoiceFor(96_000n),
      },
    });
    expect(((await closed.json()) as { refund: { status: string } }).refund.status).toBe('sent');
    const after = await send('a third prompt', '1');
    expect(after.status).toBe(402);
    expect(after.headers.get('X402-Metering-Error')).toBe('metering_closed');
    expect(await after.text()).not.toContain('"ok"');
  });
});
