import { Hono } from 'hono';
import { z } from 'zod';
import { getAddress, isAddress, isAddressEqual, parseSignature, verifyTypedData, type Address, type Hex } from 'viem';
import { PaymentPayloadV1Schema, PaymentRequiredV1Schema, PaymentRequirementsV1Schema } from '@x402/core/schemas';
import { createKeyPairSignerFromBytes } from '@solana/kit';
import { toFacilitatorSvmSigner } from '@x402/svm';
import { ExactSvmSchemeV1 } from '@x402/svm/exact/v1/facilitator';
import { exactTokenAbi, transferWithAuthorizationTypes } from '../../../adapters/evm/index';
import type { EvmDevnet } from '../../../fixtures/evm/index';
import type { SolanaDevnet } from '../../../fixtures/solana/index';

/**
 * A minimal x402 version 1 server written from the v1 spec, independent of our code and of the v2 SDK:
 * 402 JSON body `{x402Version: 1, error, accepts: [{..., maxAmountRequired, resource, network: "<short name>"}]}`,
 * payment in `X-PAYMENT` (base64 JSON `{x402Version: 1, scheme, network, payload}`), EIP-3009 authorization
 * checked with viem, settled with `transferWithAuthorization` from the devnet's facilitator account, and
 * answered with `X-PAYMENT-RESPONSE` (base64 JSON `{success, transaction, network, payer}`).
 */

/** Short v1 network name of the chain the v1 tests run anvil on (84532 = base-sepolia). */
export const V1_NETWORK = 'base-sepolia';
export const V1_CHAIN_ID = 84532;
/** Price of `GET /v1/report`, atomic units. */
export const V1_PRICE = 30_000n;

/** What the v1 server saw, for assertions. */
export type V1ServerLog = { paymentHeaders: string[]; v2HeadersSeen: number; settled: Hex[] };

const hex = (v: string): v is Hex => /^0x[0-9a-fA-F]*$/.test(v);
const address = z.string().refine((v): v is Address => isAddress(v), 'address');
/** The v1 `exact` EVM payload, as the v1 spec writes it. */
const ExactEvmPayloadV1 = z.object({
  signature: z.string().refine(hex, 'hex'),
  authorization: z.object({
    from: address,
    to: address,
    value: z.string(),
    validAfter: z.string(),
    validBefore: z.string(),
    nonce: z.string().refine(hex, 'hex'),
  }),
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

/** The v1 app; `log` records every X-PAYMENT it received. */
export function v1App(devnet: EvmDevnet, log: V1ServerLog): Hono {
  const wallet = devnet.walletClientFor('facilitator');
  const app = new Hono();
  app.get('/v1/report', async (c) => {
    const requirements = {
      scheme: 'exact',
      network: V1_NETWORK,
      maxAmountRequired: V1_PRICE.toString(),
      resource: c.req.url,
      description: 'A v1 report',
      mimeType: 'application/json',
      payTo: devnet.accounts.payee.address,
      maxTimeoutSeconds: 60,
      asset: devnet.token.address,
      extra: { name: devnet.token.name, version: devnet.token.version },
    };
    const paymentRequired = (error: string) =>
      c.json(PaymentRequiredV1Schema.parse({ x402Version: 1, error, accepts: [requirements] }), 402);
    if (c.req.header('PAYMENT-SIGNATURE') !== undefined) log.v2HeadersSeen += 1;
    const header = c.req.header('X-PAYMENT');
    if (header === undefined) return paymentRequired('X-PAYMENT header is required');
    log.paymentHeaders.push(header);

    const decoded = PaymentPayloadV1Schema.safeParse(JSON.parse(Buffer.from(header, 'base64').toString('utf8')));
    if (!decoded.success) return paymentRequired('invalid_payload');
    const payment = decoded.data;
    if (payment.scheme !== requirements.scheme || payment.network !== requirements.network)
      return paymentRequired('invalid_scheme_or_network');
    const exact = ExactEvmPayloadV1.safeParse(payment.payload);
    if (!exact.success) return paymentRequired('invalid_exact_evm_payload');
    const { authorization: a, signature } = exact.data;
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (!isAddressEqual(a.to, requirements.payTo))
      return paymentRequired('invalid_exact_evm_payload_recipient_mismatch');
    if (a.value !== requirements.maxAmountRequired)
      return paymentRequired('invalid_exact_evm_payload_authorization_value');
    if (BigInt(a.validBefore) < now + 6n || BigInt(a.validAfter) > now)
      return paymentRequired('invalid_exact_evm_payload_authorization_valid_window');
    const message = {
      from: getAddress(a.from),
      to: getAddress(a.to),
      value: BigInt(a.value),
      validAfter: BigInt(a.validAfter),
      validBefore: BigInt(a.validBefore),
      nonce: a.nonce,
    };
    const domain = {
      name: devnet.token.name,
      version: devnet.token.version,
      chainId: V1_CHAIN_ID,
      verifyingContract: devnet.token.address,
    };
    const valid = await verifyTypedData({
      address: message.from,
      domain,
      types: transferWithAuthorizationTypes,
      primaryType: 'TransferWithAuthorization',
      message,
      signature,
    });
    if (!valid) return paymentRequired('invalid_exact_evm_payload_signature');

    const { v, r, s, yParity } = parseSignature(signature);
    const { request } = await devnet.publicClient.simulateContract({
      address: devnet.token.address,
      abi: exactTokenAbi,
      functionName: 'transferWithAuthorization',
      args: [
        message.from,
        message.to,
        message.value,
        message.validAfter,
        message.validBefore,
        message.nonce,
        Number(v ?? BigInt(yParity + 27)),
        r,
        s,
      ],
      account: wallet.account,
    });
    const transaction = await wallet.writeContract(request);
    const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash: transaction });
    if (receipt.status !== 'success') return paymentRequired('settle_failed');
    log.settled.push(transaction);
    c.header('X-PAYMENT-RESPONSE', b64({ success: true, transaction, network: V1_NETWORK, payer: message.from }));
    return c.json({ report: 'v1 paid content' });
  });
  return app;
}

/** Price of `GET /v1/sol-report`, atomic units of the devnet mint. */
export const V1_SOL_PRICE = 15_000n;

/**
 * The same v1 HTTP transport for Solana (`network: "solana-devnet"`), verifying and settling with the
 * official v1 exact SVM facilitator scheme (`@x402/svm/exact/v1/facilitator`) on our litesvm devnet, which
 * must run under Solana devnet's genesis hash for the name to resolve.
 */
export async function v1SolanaApp(devnet: SolanaDevnet, log: V1ServerLog): Promise<Hono> {
  const signer = toFacilitatorSvmSigner(await createKeyPairSignerFromBytes(devnet.keypairs.feePayer.secretKey), {
    defaultRpcUrl: devnet.rpcUrl,
  });
  const facilitator = new ExactSvmSchemeV1(signer);
  const app = new Hono();
  app.get('/v1/sol-report', async (c) => {
    const requirements = PaymentRequirementsV1Schema.parse({
      scheme: 'exact',
      network: 'solana-devnet',
      maxAmountRequired: V1_SOL_PRICE.toString(),
      resource: c.req.url,
      description: 'A v1 Solana report',
      mimeType: 'application/json',
      payTo: devnet.keypairs.payee.publicKey.toBase58(),
      maxTimeoutSeconds: 60,
      asset: devnet.mint.toBase58(),
      extra: { feePayer: devnet.keypairs.feePayer.publicKey.toBase58() },
    });
    const paymentRequired = (error: string) =>
      c.json(PaymentRequiredV1Schema.parse({ x402Version: 1, error, accepts: [requirements] }), 402);
    if (c.req.header('PAYMENT-SIGNATURE') !== undefined) log.v2HeadersSeen += 1;
    const header = c.req.header('X-PAYMENT');
    if (header === undefined) return paymentRequired('X-PAYMENT header is required');
    log.paymentHeaders.push(header);
    const decoded = PaymentPayloadV1Schema.safeParse(JSON.parse(Buffer.from(header, 'base64').toString('utf8')));
    if (!decoded.success) return paymentRequired('invalid_payload');
    // The v1 facilitator scheme is typed with the v2 shapes but reads the v1 ones (network name, maxAmountRequired).
    type V1Payload = Parameters<ExactSvmSchemeV1['verify']>[0];
    type V1Requirements = Parameters<ExactSvmSchemeV1['verify']>[1];
    const payment = decoded.data as unknown as V1Payload;
    const required = requirements as unknown as V1Requirements;
    const verified = await facilitator.verify(payment, required);
    if (!verified.isValid) return paymentRequired(verified.invalidReason ?? 'invalid');
    const settled = await facilitator.settle(payment, required);
    if (!settled.success) return paymentRequired(settled.errorReason ?? 'settle_failed');
    log.settled.push(settled.transaction as Hex);
    c.header(
      'X-PAYMENT-RESPONSE',
      b64({ success: true, transaction: settled.transaction, network: settled.network, payer: settled.payer }),
    );
    return c.json({ report: 'v1 paid on Solana' });
  });
  return app;
}
