import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PublicKey } from '@solana/web3.js';
import { getAddress, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  decodePaymentRequiredHeader as officialDecodePaymentRequired,
  decodePaymentResponseHeader as officialDecodePaymentResponse,
  decodePaymentSignatureHeader as officialDecodePaymentSignature,
  x402HTTPClient,
} from '@x402/core/http';
import { PaymentPayloadV2Schema, PaymentRequiredV2Schema } from '@x402/core/schemas';
import { x402Client } from '@x402/fetch';
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client';
import {
  RECEIPT_EXTENSION_KEY,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  SignedReceiptSchema,
} from '../../src/index';
import { Eip3009PayloadSchema, evmEip3009Client, verifyEip3009Signature } from '../../adapters/evm/index';
import {
  checkSignerSignature,
  decodePaymentTransaction,
  inspectExactTransaction,
  solanaExactClient,
} from '../../adapters/solana/index';
import { anvilDevPrivateKeys } from '../../fixtures/evm/index';
import type { Vector, VectorFile } from './generateVectors';

/**
 * Issue 6, "Also": wire vectors produced by the official SDK decode with our schemas (and our rails accept
 * what they carry), and ours decode with the official decoders and zod schemas. Regenerate with
 * `npx tsx test/interop/generateVectors.ts`.
 */

const load = (file: string): VectorFile =>
  JSON.parse(readFileSync(new URL(`../../fixtures/vectors/${file}`, import.meta.url), 'utf8')) as VectorFile;
const official = load('official.json');
const ours = load('ours.json');
const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const one = (file: VectorFile, name: string, kind: Vector['kind']): Vector => {
  const found = file.vectors.find((v) => v.name === name && v.kind === kind);
  if (!found) throw new Error(`no ${kind} vector "${name}"`);
  return found;
};

const ourDecoders = {
  PaymentRequired: decodePaymentRequiredHeader,
  PaymentPayload: decodePaymentSignatureHeader,
  SettleResponse: decodePaymentResponseHeader,
};
const officialDecoders = {
  PaymentRequired: officialDecodePaymentRequired,
  PaymentPayload: officialDecodePaymentSignature,
  SettleResponse: officialDecodePaymentResponse,
};
const devToken = { address: getAddress(official.evm.token), name: 'Rails USD', version: '2' };

describe('official SDK vectors → our schemas and rails', () => {
  it('covers PaymentRequired, PaymentPayload and SettleResponse on EVM and SVM', () => {
    expect(official.vectors.map((v) => `${v.name}/${v.kind}`).sort()).toEqual(
      ['evm-exact-eip3009', 'svm-exact']
        .flatMap((n) => ['PaymentPayload', 'PaymentRequired', 'SettleResponse'].map((k) => `${n}/${k}`))
        .sort(),
    );
  });

  for (const v of official.vectors) {
    it(`our ${v.kind} decoder reads the official ${v.name} header exactly`, () => {
      expect(json(ourDecoders[v.kind](v.header))).toEqual(v.decoded);
    });
  }

  it('our client rails take the official offers (EVM EIP-3009, Solana exact)', () => {
    const evmOffer = decodePaymentRequiredHeader(one(official, 'evm-exact-eip3009', 'PaymentRequired').header)
      .accepts[0];
    const svmOffer = decodePaymentRequiredHeader(one(official, 'svm-exact', 'PaymentRequired').header).accepts[0];
    expect(evmOffer && evmEip3009Client().supports(evmOffer)).toBe(true);
    expect(svmOffer && solanaExactClient().supports(svmOffer)).toBe(true);
    expect(svmOffer && solanaExactClient().supports({ ...svmOffer, scheme: 'upto' })).toBe(false);
  });

  it('our EIP-3009 verifier accepts the official client’s signature, and refuses it once altered', async () => {
    const payment = decodePaymentSignatureHeader(one(official, 'evm-exact-eip3009', 'PaymentPayload').header);
    const parsed = Eip3009PayloadSchema.parse(payment.payload);
    const at = { network: official.evm.network, token: devToken, now: official.generatedAt };
    await expect(verifyEip3009Signature(parsed, payment.accepted, at)).resolves.toMatchObject({
      isValid: true,
      payer: getAddress(official.evm.payer),
    });
    const altered = { ...parsed, authorization: { ...parsed.authorization, nonce: `0x${'00'.repeat(32)}` as Hex } };
    await expect(verifyEip3009Signature(altered, payment.accepted, at)).resolves.toMatchObject({
      isValid: false,
      reason: 'invalid_signature',
    });
    await expect(verifyEip3009Signature(parsed, { ...payment.accepted, amount: '1' }, at)).resolves.toMatchObject({
      isValid: false,
      reason: 'amount_mismatch',
    });
  });

  it('our Solana inspection accepts the official client’s transaction layout and the payer’s signature', () => {
    const payment = decodePaymentSignatureHeader(one(official, 'svm-exact', 'PaymentPayload').header);
    const tx = decodePaymentTransaction(payment.payload);
    const want = {
      feePayer: new PublicKey(official.solana.feePayer),
      asset: new PublicKey(official.solana.mint),
      payTo: new PublicKey(official.solana.payee),
      amount: BigInt(payment.accepted.amount),
      maxComputeUnitPrice: 5_000_000n,
      maxComputeUnitLimit: 200_000,
    };
    const inspected = inspectExactTransaction(tx, want);
    expect(inspected).toMatchObject({ ok: true, transfer: { amount: BigInt(payment.accepted.amount), decimals: 6 } });
    if (inspected.ok) expect(inspected.transfer.authority.toBase58()).toBe(official.solana.payer);
    expect(checkSignerSignature(tx, new PublicKey(official.solana.payer))).toBe('valid');
    expect(inspectExactTransaction(tx, { ...want, amount: want.amount + 1n })).toMatchObject({ ok: false });
  });

  it('reads the official SettleResponse (no amount, no receipt) as a success with its transaction', () => {
    for (const name of ['evm-exact-eip3009', 'svm-exact']) {
      const settle = decodePaymentResponseHeader(one(official, name, 'SettleResponse').header);
      expect(settle.success).toBe(true);
      expect(settle.transaction.length).toBeGreaterThan(40);
      expect(settle.extensions?.[RECEIPT_EXTENSION_KEY]).toBeUndefined();
    }
  });
});

describe('our vectors → the official decoders and zod schemas', () => {
  for (const v of ours.vectors) {
    it(`the official ${v.kind} decoder reads our ${v.name} header exactly`, () => {
      expect(json(officialDecoders[v.kind](v.header))).toEqual(v.decoded);
      if (v.kind === 'PaymentRequired') expect(() => PaymentRequiredV2Schema.parse(v.decoded)).not.toThrow();
      if (v.kind === 'PaymentPayload') expect(() => PaymentPayloadV2Schema.parse(v.decoded)).not.toThrow();
    });
  }

  it('the official HTTP client classifies our 402s and PAYMENT-RESPONSEs, and sees our refusal reason in `error`', () => {
    const http = new x402HTTPClient(new x402Client());
    const parse = (name: string, kind: Vector['kind'], status: number) =>
      http.parsePaymentResult({
        status,
        getHeader: (h) =>
          h === (kind === 'SettleResponse' ? 'PAYMENT-RESPONSE' : 'PAYMENT-REQUIRED')
            ? one(ours, name, kind).header
            : null,
        body: {},
      });
    expect(parse('evm-exact-eip3009', 'PaymentRequired', 402).paymentStatus).toBe('payment_required');
    expect(parse('evm-exact-eip3009', 'SettleResponse', 200).paymentStatus).toBe('settled');
    expect(parse('svm-exact', 'SettleResponse', 200).paymentStatus).toBe('settled');
    const refused = parse('evm-exact-eip3009 refused (insufficient_funds)', 'PaymentRequired', 402).header;
    expect(refused && 'error' in refused ? refused.error : undefined).toBe('insufficient_funds');
  });

  it('our receipt rides under `extensions` of the SettleResponse, beside the standard fields', () => {
    for (const name of ['evm-exact-eip3009', 'evm-exact-eip2612 (x402-rails extension)', 'svm-exact']) {
      const settle = officialDecodePaymentResponse(one(ours, name, 'SettleResponse').header);
      expect(settle).toMatchObject({
        success: true,
        amount: expect.any(String),
        payer: expect.any(String),
        network: expect.any(String),
      });
      const receipt = SignedReceiptSchema.parse(settle.extensions?.[RECEIPT_EXTENSION_KEY]);
      expect(receipt).toBeTruthy();
    }
  });

  it('the official client selects our EIP-3009 offer under its spend controls, and signs an EIP-3009 payload for it', async () => {
    const required = officialDecodePaymentRequired(one(ours, 'evm-exact-eip3009', 'PaymentRequired').header);
    const account = privateKeyToAccount(anvilDevPrivateKeys[1]);
    const client = new x402Client().register('eip155:31337', new ExactEvmClientScheme(account)).setSpendControls({
      allowedAssets: [{ network: 'eip155:31337', asset: ours.evm.token, maxAmountPerPayment: '10000' }],
    });
    const payload = await client.createPaymentPayload(required);
    expect(payload.accepted).toEqual(required.accepts[0]);
    const signed = Eip3009PayloadSchema.parse(payload.payload);
    expect(signed.authorization.from).toBe(account.address);
    const accepted = decodePaymentRequiredHeader(one(ours, 'evm-exact-eip3009', 'PaymentRequired').header).accepts[0];
    if (!accepted) throw new Error('no offer');
    await expect(
      verifyEip3009Signature(signed, accepted, {
        network: ours.evm.network,
        token: { ...devToken, address: getAddress(ours.evm.token) as Address },
        now: Date.now(),
      }),
    ).resolves.toMatchObject({
      isValid: true,
    });
  });
});
