/**
 * Attack (finding 9): someone who can read the audit log (a backup, a log shipper, a support dashboard) lifts the
 * credentials it stored as "evidence" and spends them: before the fix a payment entry held the whole payload, so an
 * L402 macaroon + preimage (reusable on its route for the token's lifetime) or an EIP-3009 signature was right there.
 *
 * Guarantee: after an L402 payment and an EVM payment with the audit log on (SQLite), no audit entry contains the
 * macaroon, the preimage, the EIP-3009 signature or the PAYMENT-SIGNATURE header; it keeps what proves the payment
 * (payment id, the payload's SHA-256, the signed receipt with its proof as a digest). Presenting anything taken from
 * the audit entries as a credential is refused with 402: the handler is not called again and no balance moves.
 * Own Lightning and EVM devnets (balance assertions).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pay } from 'ln-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evmEip3009Client, evmEip3009Server } from '../../adapters/evm/index';
import { lightningServer } from '../../adapters/lightning/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { payingFetch, type FetchLike } from '../../src/client/payingFetch';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import {
  decodePaymentRequiredHeader,
  decodePaymentSignatureHeader,
  encodePaymentSignatureHeader,
} from '../../src/protocol/headers';
import { macaroonFromBase64 } from '../../src/protocol/macaroon';
import { createSqliteAuditLog, evidenceDigest, riskControls, type AuditEntry } from '../../src/risk/index';
import { paywall } from '../../src/server/paywall';
import { walletFor } from '../support/evmHarness';

const BASE = 'http://shop.test';
const LN_PRICE = 21_000n;
const EVM_PRICE = 10_000n;
const dir = mkdtempSync(join(tmpdir(), 'x402-adversary-audit-'));
let ln: LightningDevnet;
let evm: EvmDevnet;
let serverFetch: FetchLike;
let audit: ReturnType<typeof createSqliteAuditLog>;
const served: string[] = [];

beforeAll(async () => {
  [ln, evm] = await Promise.all([startLightningDevnet(), startEvmDevnet()]);
  audit = createSqliteAuditLog({ path: join(dir, 'audit.sqlite') });
  const settler = {
    publicClient: evm.publicClient,
    walletClient: evm.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  };
  const pw = paywall(
    {
      'GET /ln/report': { accepts: [{ rail: 'lightning-l402', amount: LN_PRICE }] },
      'GET /evm/report': { accepts: [{ rail: 'evm-eip3009', amount: EVM_PRICE }] },
    },
    {
      rails: [
        lightningServer({ lnd: ln.nodes.bob.lnd, network: ln.network, rootKey: new Uint8Array(randomBytes(32)) }),
        evmEip3009Server({ ...settler, chainId: evm.chainId, token: evm.token, payTo: evm.accounts.payee.address }),
      ],
      signer: await createReceiptSigner(),
      extensions: [riskControls({ audit, breaker: false })],
    },
  );
  const app = pw.wrap(async (request) => {
    served.push(new URL(request.url).pathname);
    return Response.json({ ok: true });
  });
  serverFetch = async (input, init) => app(new Request(input, init));
});
afterAll(async () => {
  audit?.close();
  await Promise.all([ln?.stop(), evm?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Every string value in the audit entries, at any depth: all an attacker reading the log has. */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) stringsOf(v, out);
  return out;
}
const isMacaroon = (text: string): boolean => {
  try {
    macaroonFromBase64(text);
    return true;
  } catch {
    return false;
  }
};
/** Audit appends are not awaited by the payment path: wait until the settlements are on record. */
async function settledEntries(count: number): Promise<AuditEntry[]> {
  for (let i = 0; i < 100; i++) {
    const entries = await audit.list();
    if (entries.filter((e) => e.kind === 'settlement').length >= count) return entries;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the settlements never reached the audit log');
}

it('no audit entry holds a spendable credential, and nothing lifted from the log buys a second service', async () => {
  const bobStart = ln.channelBalance('bob');
  const payeeStart = await evm.balanceOf(evm.accounts.payee.address);
  const payerStart = await evm.balanceOf(evm.accounts.payer.address);

  // 1. An L402 payment (plain L402: WWW-Authenticate, pay the invoice, Authorization: L402 macaroon:preimage).
  const challenge = await serverFetch(`${BASE}/ln/report`);
  expect(challenge.status).toBe(402);
  const www = challenge.headers.get('WWW-Authenticate') ?? '';
  const macaroon = /macaroon="([^"]+)"/.exec(www)?.[1] ?? '';
  const invoice = /invoice="([^"]+)"/.exec(www)?.[1] ?? '';
  const preimage = (await pay({ lnd: ln.nodes.alice.lnd, request: invoice, max_fee_mtokens: '1000' })).secret;
  const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
  expect(
    (await serverFetch(`${BASE}/ln/report`, { headers: { Authorization: `L402 ${macaroon}:${preimage}` } })).status,
  ).toBe(200);

  // 2. An EVM EIP-3009 payment through payingFetch; the PAYMENT-SIGNATURE header is captured on its way out.
  let paymentHeader = '';
  const capturing: FetchLike = async (input, init) => {
    paymentHeader = new Headers(init?.headers).get('PAYMENT-SIGNATURE') ?? paymentHeader;
    return serverFetch(input, init);
  };
  const payer = payingFetch(capturing, {
    adapters: [evmEip3009Client()],
    wallets: [walletFor(evm, 'payer')],
    capabilities: false,
  });
  expect((await payer(`${BASE}/evm/report`)).status).toBe(200);
  const evmPayload = decodePaymentSignatureHeader(paymentHeader).payload;
  const evmSignature = typeof evmPayload.signature === 'string' ? evmPayload.signature : '';
  expect(evmSignature).toMatch(/^0x[0-9a-f]{130}$/);
  expect(served).toEqual(['/ln/report', '/evm/report']);
  expect(ln.channelBalance('bob')).toBe(bobStart + LN_PRICE);
  expect(await evm.balanceOf(evm.accounts.payee.address)).toBe(payeeStart + EVM_PRICE);

  // The log: what proves each payment, nothing that can be spent.
  const entries = await settledEntries(2);
  const text = JSON.stringify(entries);
  for (const secret of [macaroon, preimage, evmSignature, evmSignature.slice(2), paymentHeader])
    expect(text).not.toContain(secret);
  expect(entries.map((e) => e.kind)).toEqual([
    'challenge',
    'payment',
    'settlement',
    'challenge',
    'payment',
    'settlement',
  ]);
  const [lnPayment, evmPayment] = entries.filter((e) => e.kind === 'payment');
  expect(lnPayment).toMatchObject({
    paymentId: `lightning-l402:${paymentHash}`,
    evidence: { payloadSha256: evidenceDigest({ preimage, macaroon }) },
  });
  expect(evmPayment?.evidence).toEqual({ payloadSha256: evidenceDigest(evmPayload) });
  const lnSettlement = entries.find((e) => e.kind === 'settlement' && e.paymentId === `lightning-l402:${paymentHash}`);
  expect(lnSettlement?.evidence).toMatchObject({
    receipt: { reference: paymentHash, proofSha256: evidenceDigest(preimage) },
  });

  // 3. The attack: every macaroon and every 32-byte hex value found in the log, plus a macaroon anyone can get from a
  //    fresh 402, presented as an L402 credential; every 0x value as an EIP-3009 signature over the paid authorization.
  const loot = [...new Set(stringsOf(entries))];
  const macaroons = [
    ...loot.filter(isMacaroon),
    /macaroon="([^"]+)"/.exec((await serverFetch(`${BASE}/ln/report`)).headers.get('WWW-Authenticate') ?? '')?.[1] ??
      '',
  ];
  expect(macaroons).toHaveLength(1); // the log holds none
  const hexes = loot.filter((s) => /^[0-9a-f]{64}$/.test(s));
  expect(hexes).toContain(paymentHash); // the payment's identity (and challenge ids), never its preimage
  expect(hexes).not.toContain(preimage);
  for (const m of macaroons) {
    for (const h of hexes) {
      const res = await serverFetch(`${BASE}/ln/report`, { headers: { Authorization: `L402 ${m}:${h}` } });
      expect(res.status).toBe(402);
    }
  }

  const fresh = decodePaymentRequiredHeader(
    (await serverFetch(`${BASE}/evm/report`)).headers.get('PAYMENT-REQUIRED') ?? '',
  );
  const accepted = fresh.accepts[0];
  if (!accepted) throw new Error('no EVM offer');
  const paidAuthorization = evmPayload.authorization;
  const candidates = loot.filter((s) => /^0x[0-9a-fA-F]+$/.test(s));
  expect(candidates.length).toBeGreaterThan(0); // addresses, the token, tx hashes: none of them a signature
  for (const signature of candidates) {
    const header = encodePaymentSignatureHeader({
      x402Version: 2,
      resource: fresh.resource,
      accepted,
      payload: { signature, authorization: paidAuthorization },
    });
    const res = await serverFetch(`${BASE}/evm/report`, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect([res.status, signature]).toEqual([402, signature]);
  }

  // Nothing was served again, nothing moved.
  expect(served).toEqual(['/ln/report', '/evm/report']);
  expect(ln.channelBalance('bob')).toBe(bobStart + LN_PRICE);
  expect(await evm.balanceOf(evm.accounts.payee.address)).toBe(payeeStart + EVM_PRICE);
  expect(await evm.balanceOf(evm.accounts.payer.address)).toBe(payerStart - EVM_PRICE);
});
