/**
 * Safe default (#12): an EVM rail configured with the wrong token name (or version). Its offers carry that domain,
 * clients sign over it, and before the fix verify passed (the signature matched the offer's domain) while the
 * token, which checks its own domain, reverted every settlement with a message that pointed nowhere: handler runs
 * that were never paid for.
 *
 * Guarantee: the rail checks the token's EIP-712 domain (EIP-5267 eip712Domain()) once, before its first verify
 * or settle, and a mismatch fails clearly: the paid request answers 500 CONFIG__EIP712__DOMAIN_MISMATCH ("EIP-712
 * domain mismatch: configured … token reports …") every time, the handler runs 0 times and no balance moves; the
 * same holds through the facilitator (/verify and /settle answer the error, nothing settles). The correct
 * configuration passes the same check and is paid: payer −PRICE, payee +PRICE. Own EVM devnet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertEvmTokenDomain, evmEip3009Server } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startFacilitator } from '../../src/facilitator/index';
import { ConfigurationError, createReceiptSigner, paywall, type FetchLike } from '../../src/index';
import { PRICE } from '../support/evmHarness';
import {
  FACILITATOR_KEY,
  bearer,
  facilitatorBody,
  requirementsFor,
  signedPayment,
} from '../support/facilitatorHarness';
import { offerOf, paymentHeader, payerPayeeBalances } from './support/evmFlow';

const URL_ = 'http://shop.test/report';
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

const railWith = (name: string, version: string) =>
  evmEip3009Server({
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
    chainId: devnet.chainId,
    token: { ...devnet.token, name, version },
    payTo: devnet.accounts.payee.address,
  });
const balances = () => payerPayeeBalances(devnet);

describe('a token name/version that is not the token’s EIP-712 domain', () => {
  it('assertEvmTokenDomain names both domains for a wrong name or version, and passes the right one', async () => {
    const check = (name: string, version: string) =>
      assertEvmTokenDomain({
        publicClient: devnet.publicClient,
        chainId: devnet.chainId,
        token: { address: devnet.token.address, name, version },
      });
    await expect(check(devnet.token.name, devnet.token.version)).resolves.toBeUndefined();
    for (const [name, version] of [
      ['Rails USDC', devnet.token.version],
      [devnet.token.name, '1'],
    ] as const) {
      const error = await check(name, version).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: 'CONFIG__EIP712__DOMAIN_MISMATCH', status: 500 });
      expect((error as Error).message).toMatch(
        /^EIP-712 domain mismatch: configured \{name: .*, version: .*\} for token 0x[0-9a-fA-F]{40}, token reports \{name: "Rails USD", version: "2"/,
      );
    }
    const wrongChain = await assertEvmTokenDomain({
      publicClient: devnet.publicClient,
      chainId: 1,
      token: devnet.token,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(wrongChain).toMatchObject({ code: 'CONFIG__EIP712__DOMAIN_MISMATCH' });
  });

  it('paywall: a payment signed over the wrong domain is never served (500 domain mismatch ×5, handler 0 runs, no money moves)', async () => {
    const runs = { count: 0 };
    const pw = paywall(
      { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
      { rails: [railWith('Rails USDC', '2')], signer: await createReceiptSigner(), issuer: 'http://shop.test' },
    );
    const app = pw.wrap(async () => {
      runs.count++;
      return Response.json({ ok: true });
    });
    const fetch: FetchLike = async (input, init) => app(new Request(input, init));
    const start = await balances();
    const offer = await offerOf(fetch, URL_);
    expect(offer.extra['name']).toBe('Rails USDC');
    const header = await paymentHeader(devnet, offer, URL_, 'payer'); // the client signs what the offer says
    for (let i = 0; i < 5; i++) {
      const res = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': header } });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { code?: string; message?: string };
      expect(body.code).toBe('CONFIG__EIP712__DOMAIN_MISMATCH');
      expect(body.message).toContain('EIP-712 domain mismatch');
    }
    expect(runs.count).toBe(0);
    expect(await balances()).toEqual(start);
  });

  it('facilitator: /verify and /settle with a wrong-name rail answer the mismatch and settle nothing; the right rail settles', async () => {
    const wrong = await startFacilitator({ rails: [railWith(devnet.token.name, '1')], apiKeys: [FACILITATOR_KEY] });
    const right = await startFacilitator({
      rails: [railWith(devnet.token.name, devnet.token.version)],
      apiKeys: [FACILITATOR_KEY],
    });
    try {
      const start = await balances();
      const requirements = requirementsFor(devnet, { extra: { name: devnet.token.name, version: '1' } });
      const payment = await signedPayment(devnet, requirements);
      for (const path of ['/verify', '/settle']) {
        const res = await fetch(`${wrong.url}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...bearer() },
          body: facilitatorBody(payment),
        });
        expect(res.status).toBe(500);
        expect(await res.json()).toMatchObject({ code: 'CONFIG__EIP712__DOMAIN_MISMATCH' });
      }
      expect(await balances()).toEqual(start);
      // The right rail refuses the payment signed for the wrong domain before any signature work (domain_mismatch) …
      const refused = await fetch(`${right.url}/settle`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...bearer() },
        body: facilitatorBody(payment),
      });
      expect(await refused.json()).toMatchObject({ success: false, errorReason: 'domain_mismatch' });
      // … and settles one signed for the token's domain.
      const good = await signedPayment(devnet, requirementsFor(devnet));
      const settled = await fetch(`${right.url}/settle`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...bearer() },
        body: facilitatorBody(good),
      });
      expect(await settled.json()).toMatchObject({ success: true });
      const end = await balances();
      expect(start.payer - end.payer).toBe(PRICE);
      expect(end.payee - start.payee).toBe(PRICE);
    } finally {
      await wrong.close();
      await right.close();
    }
  });
});
