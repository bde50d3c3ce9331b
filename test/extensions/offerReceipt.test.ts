/**
 * The x402 `offer-receipt` extension on the shared EVM devnet, checked with @x402/extensions' own helpers: every 402
 * carries signed offers (JWS with the receipt key as did:jwk, or EIP-712 from an EVM account) that match `accepts`;
 * a paid answer carries the standard signed receipt beside ours, stating the same payment. Tampered offers and
 * receipts are refused by the official verifiers.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  decodeSignedOffers,
  extractOffersFromPaymentRequired,
  extractReceiptFromResponse,
  extractReceiptPayload,
  findAcceptsObjectFromSignedOffer,
  verifyOfferSignatureEIP712,
  verifyOfferSignatureJWS,
  verifyReceiptMatchesOffer,
  verifyReceiptSignatureEIP712,
  verifyReceiptSignatureJWS,
  type EIP712SignedOffer,
  type JWSSignedOffer,
  type JWSSignedReceipt,
  type EIP712SignedReceipt,
} from '@x402/extensions/offer-receipt';
import type { PaymentRequired as OfficialPaymentRequired } from '@x402/core/types';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  payingFetch,
  paywall,
  receiptOf,
  verifyReceipt,
  type Paywall,
  type ReceiptSigner,
} from '../../src/index';
import { offerReceipt, paymentIdentifier } from '../../src/extensions/index';
import { evmEip3009Client, evmEip3009Server, evmWallet } from '../../adapters/evm/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { connectSharedDevnets, type SharedDevnets } from '../support/connectSharedDevnets';
import { freshPayee } from '../mcp/support';

const PRICE = 5_000n;
let net: SharedDevnets;
let signer: ReceiptSigner;
const evmSigner = privateKeyToAccount(generatePrivateKey());
const servers: StartedServer[] = [];
let jwsUrl: string;
let eip712Url: string;
let jwsPaywall: Paywall;

beforeAll(async () => {
  net = connectSharedDevnets(inject('devnets'));
  const d = net.description;
  const rail = () =>
    evmEip3009Server({
      publicClient: net.evm.publicClient,
      walletClient: net.evm.walletClient('facilitator'),
      pollingIntervalMs: 5,
      chainId: d.evm.chainId,
      token: net.evm.token,
      payTo: freshPayee(),
    });
  const routes = {
    'GET /data': {
      accepts: [
        { rail: 'evm-eip3009', amount: PRICE },
        { rail: 'evm-eip3009', amount: PRICE * 2n, extra: { tier: 'gold' } },
      ],
    },
  };
  signer = await createReceiptSigner();
  jwsPaywall = paywall(routes, {
    rails: [rail()],
    signer,
    extensions: [offerReceipt({ format: 'jws', signer }), paymentIdentifier()],
  });
  const eip712 = paywall(routes, {
    rails: [rail()],
    signer: await createReceiptSigner(),
    extensions: [offerReceipt({ format: 'eip712', signTypedData: (p) => evmSigner.signTypedData(p) })],
  });
  for (const pw of [jwsPaywall, eip712]) servers.push(await serveFetch(pw.wrap(() => Response.json({ data: 42 }))));
  jwsUrl = `${servers[0]?.url}/data`;
  eip712Url = `${servers[1]?.url}/data`;
});
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function challenge(url: string): Promise<OfficialPaymentRequired> {
  const res = await fetch(url);
  expect(res.status).toBe(402);
  return decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '') as unknown as OfficialPaymentRequired;
}
const pay = () =>
  payingFetch(fetch, {
    adapters: [evmEip3009Client()],
    wallets: [evmWallet(net.evm.account('payer'), { publicClient: net.evm.publicClient })],
  });
/** A published public key as the official verifier takes it (its jose's JWK type). */
function officialJwk(jwks: ReturnType<ReceiptSigner['jwks']>): { kty: string; crv: string; x: string } {
  const [key] = jwks.keys;
  if (!key?.kty || !key.crv || !key.x) throw new Error('no key');
  return { kty: key.kty, crv: key.crv, x: key.x };
}
/** A JWS with its payload replaced (signature kept). */
function tamperJws(jws: string, change: (payload: Record<string, unknown>) => Record<string, unknown>): string {
  const [h, p, s] = jws.split('.');
  const payload = change(JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

describe('offer-receipt, JWS form (the receipt key, kid did:jwk)', () => {
  it('every accepts entry has a signed offer the official helpers verify and match to it; the key is the one in our JWKS', async () => {
    const required = await challenge(jwsUrl);
    const offers = extractOffersFromPaymentRequired(required);
    expect(offers).toHaveLength(2);
    const decoded = decodeSignedOffers(offers);
    for (const [i, offer] of decoded.entries()) {
      expect(offer.format).toBe('jws');
      expect(findAcceptsObjectFromSignedOffer(offer, required.accepts)).toBe(required.accepts[i]);
      const payload = await verifyOfferSignatureJWS(offer.signedOffer as JWSSignedOffer); // key resolved from the did:jwk kid
      expect(payload).toMatchObject({
        version: 1,
        resourceUrl: jwsUrl,
        amount: required.accepts[i]?.amount,
        payTo: required.accepts[i]?.payTo,
      });
      expect(payload.validUntil).toBeGreaterThan(Date.now() / 1000);
      await expect(
        verifyOfferSignatureJWS(offer.signedOffer as JWSSignedOffer, officialJwk(jwsPaywall.jwks())),
      ).resolves.toEqual(payload);
    }
  });

  it('a paid answer carries the standard receipt (official extractor + verifier) stating the payment our receipt states, signed by the same key', async () => {
    const res = await pay()(jwsUrl);
    expect(res.status).toBe(200);
    const standard = extractReceiptFromResponse(res) as JWSSignedReceipt;
    expect(standard.format).toBe('jws');
    const payload = await verifyReceiptSignatureJWS(standard, officialJwk(jwsPaywall.jwks()));
    const ours = receiptOf(res)?.receipt;
    expect(receiptOf(res)?.receiptCheck).toBe('signature');
    expect(payload).toMatchObject({
      version: 1,
      network: ours?.network,
      resourceUrl: ours?.request.url,
      payer: ours?.payer,
      transaction: ours?.reference,
    });
    const offer = decodeSignedOffers(extractOffersFromPaymentRequired(await challenge(jwsUrl)))[0];
    if (!offer) throw new Error('no offer');
    expect(verifyReceiptMatchesOffer(standard, offer, [net.evm.account('payer').address])).toBe(true);
    expect(verifyReceiptMatchesOffer(standard, offer, [evmSigner.address])).toBe(false);
    await expect(verifyReceipt(receiptOf(res)?.signedReceipt, jwsPaywall.jwks())).resolves.toMatchObject({
      reference: payload.transaction,
    });
  });

  it('tampering is refused: an offer with a lower amount or another payee, a receipt naming another transaction', async () => {
    const [offer] = extractOffersFromPaymentRequired(await challenge(jwsUrl)) as JWSSignedOffer[];
    if (!offer) throw new Error('no offer');
    for (const change of [
      (p: Record<string, unknown>) => ({ ...p, amount: '1' }),
      (p: Record<string, unknown>) => ({ ...p, payTo: evmSigner.address }),
    ]) {
      await expect(
        verifyOfferSignatureJWS({ ...offer, signature: tamperJws(offer.signature, change) }),
      ).rejects.toThrow(/signature/i);
    }
    const res = await pay()(jwsUrl);
    const receipt = extractReceiptFromResponse(res) as JWSSignedReceipt;
    await expect(
      verifyReceiptSignatureJWS({
        ...receipt,
        signature: tamperJws(receipt.signature, (p) => ({ ...p, transaction: `0x${'ab'.repeat(32)}` })),
      }),
    ).rejects.toThrow(/signature/i);
    // Another key (a stranger's JWKS) does not verify our artifacts either.
    const stranger = await createReceiptSigner();
    await expect(verifyReceiptSignatureJWS(receipt, officialJwk(stranger.jwks()))).rejects.toThrow(/signature/i);
  });
});

describe('offer-receipt, EIP-712 form (an EVM account)', () => {
  it('offers and receipts recover to the configured account with the official verifiers; tampering changes the signer', async () => {
    const required = await challenge(eip712Url);
    const offers = extractOffersFromPaymentRequired(required) as EIP712SignedOffer[];
    expect(offers.map((o) => o.format)).toEqual(['eip712', 'eip712']);
    for (const [i, offer] of offers.entries()) {
      const verified = await verifyOfferSignatureEIP712(offer);
      expect(verified.signer).toBe(evmSigner.address);
      expect(findAcceptsObjectFromSignedOffer(offer, required.accepts)).toBe(required.accepts[i]);
      const forged = await verifyOfferSignatureEIP712({ ...offer, payload: { ...offer.payload, amount: '1' } });
      expect(forged.signer).not.toBe(evmSigner.address);
    }
    const res = await pay()(eip712Url);
    expect(res.status).toBe(200);
    const receipt = extractReceiptFromResponse(res) as EIP712SignedReceipt;
    const verified = await verifyReceiptSignatureEIP712(receipt);
    expect(verified.signer).toBe(evmSigner.address);
    expect(extractReceiptPayload(receipt)).toMatchObject({
      transaction: receiptOf(res)?.receipt?.reference,
      payer: net.evm.account('payer').address,
    });
    const forged = await verifyReceiptSignatureEIP712({
      ...receipt,
      payload: { ...receipt.payload, payer: evmSigner.address },
    });
    expect(forged.signer).not.toBe(evmSigner.address);
  });
});
