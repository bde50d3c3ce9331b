/**
 * Attack on the paywall page's invoice status endpoint, on the Lightning devnet: it hands out the preimage of a
 * paid invoice (the secret that makes an L402 credential), so it must give it only to the holder of the
 * macaroon the 402 issued. A stranger who saw the invoice (its payment hash) and mints a macaroon for that hash
 * under another key, or alters the real one, is refused with 403 and no preimage; before payment even the
 * holder learns only `open`. The holder's preimage buys the resource once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { pay } from 'ln-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeL402Identifier, mintL402Macaroon } from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { decodePaymentRequiredHeader } from '../../src/protocol/headers';
import { macaroonFromBase64 } from '../../src/protocol/macaroon';
import { INVOICE_STATUS_PATH, withPaywallPage } from '../../src/paywall-ui/index';
import { LN_PRICE, lightningPaywall } from '../support/lightningHarness';

let devnet: LightningDevnet;

beforeAll(async () => {
  devnet = await startLightningDevnet();
});

afterAll(async () => {
  await devnet?.stop();
});

describe('adversary: the invoice status endpoint gives the preimage to the macaroon holder only', () => {
  it('stranger macaroons for the paid invoice get 403 and no preimage; the holder gets it and is served once', async () => {
    const { pw, rail } = await lightningPaywall(devnet);
    const page = withPaywallPage(pw, { invoiceStatus: rail });
    const handler = page.wrap(async () => Response.json({ served: true }));
    const call = (input: string, init?: RequestInit) => handler(new Request(`http://127.0.0.1${input}`, init));
    const status = (macaroon: string) =>
      call(INVOICE_STATUS_PATH, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ macaroon }),
      });

    const challenge = await call('/ln/report', { headers: { Accept: 'application/json' } });
    const offer = decodePaymentRequiredHeader(challenge.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
    const macaroon = String(offer?.extra.macaroon);
    const invoice = String(offer?.extra.invoice);
    const paymentHash = decodeL402Identifier(macaroonFromBase64(macaroon).identifier)?.paymentHash ?? '';

    expect(await (await status(macaroon)).json()).toEqual({ state: 'open' });
    const bobBefore = devnet.channelBalance('bob');
    await pay({ lnd: devnet.nodes.alice.lnd, request: invoice, max_fee: 10 });
    expect(devnet.channelBalance('bob') - bobBefore).toBe(LN_PRICE);

    // A stranger knows the payment hash (it is in the invoice) and mints a macaroon for it under its own key.
    const forged = mintL402Macaroon({
      rootKey: new Uint8Array(randomBytes(32)),
      paymentHash,
      serviceName: 'x402',
      path: '/ln/report',
      method: 'GET',
      amountMsat: LN_PRICE.toString(),
      validUntil: Math.floor(Date.now() / 1000) + 600,
    });
    // … or alters the real one (its last character flips the signature's bits).
    const altered = macaroon.slice(0, -4) + (macaroon.slice(-4, -3) === 'A' ? 'B' : 'A') + macaroon.slice(-3);
    for (const attempt of [forged.base64, altered, 'not-a-macaroon']) {
      const res = await status(attempt);
      expect(res.status).toBe(403);
      const body = await res.text();
      expect(body).toBe('{"state":"invalid"}');
    }

    const paid = (await (await status(macaroon)).json()) as { state: string; preimage: string };
    expect(paid.state).toBe('paid');
    expect(createHash('sha256').update(Buffer.from(paid.preimage, 'hex')).digest('hex')).toBe(paymentHash);
    const served = await call('/ln/report', { headers: { Authorization: `L402 ${macaroon}:${paid.preimage}` } });
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ served: true });
    expect(devnet.channelBalance('bob') - bobBefore).toBe(LN_PRICE); // paid once
  });
});
