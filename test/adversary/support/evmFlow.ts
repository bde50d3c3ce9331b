import { parseAbi } from 'viem';
import { evmEip3009Client, evmEip3009Server } from '../../../adapters/evm/index';
import type { EvmDevnet, EvmDevnetAccountName } from '../../../fixtures/evm/index';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  paywall,
  RECEIPT_EXTENSION_KEY,
  SignedReceiptSchema,
  type FetchHandler,
  type FetchLike,
  type Paywall,
  type PaywallOptions,
  type PaymentRequirements,
  type RoutesConfig,
  type ServerRail,
  type SignedReceipt,
} from '../../../src/index';
import { walletFor } from '../../support/evmHarness';

/** The EIP-3009 server rail on a devnet's rUSD, paying the devnet's payee. */
export function eip3009Rail(devnet: EvmDevnet): ServerRail {
  return evmEip3009Server({
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  });
}

/** A paywall over `routes` with the devnet's EIP-3009 rail and `handler`, served in-process. */
export async function flowPaywall(
  devnet: EvmDevnet,
  routes: RoutesConfig,
  handler: FetchHandler,
  options: Partial<PaywallOptions> = {},
): Promise<{ pw: Paywall; fetch: FetchLike; rail: ServerRail }> {
  const rail = eip3009Rail(devnet);
  const pw = paywall(routes, {
    rails: [rail],
    signer: await createReceiptSigner(),
    issuer: 'http://shop.test',
    ...options,
  });
  const wrapped = pw.wrap(handler);
  return { pw, rail, fetch: async (input, init) => wrapped(new Request(input, init)) };
}

/** The first offer of the 402 that `url` answers. */
export async function offerOf(fetch: FetchLike, url: string, init?: RequestInit): Promise<PaymentRequirements> {
  const res = await fetch(url, init);
  if (res.status !== 402) throw new Error(`expected a 402 challenge, got ${res.status}`);
  const [offer] = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts;
  if (!offer) throw new Error('no offer');
  return offer;
}

/** A PAYMENT-SIGNATURE header paying `offer` from a devnet account (EIP-3009). */
export async function paymentHeader(
  devnet: EvmDevnet,
  offer: PaymentRequirements,
  url: string,
  from: 'payer' | 'payer2' | 'poor' = 'payer',
): Promise<string> {
  const payload = await evmEip3009Client().createPayment(offer, walletFor(devnet, from), {
    resource: { url },
    x402Version: 2,
    now: Date.now(),
  });
  return encodePaymentSignatureHeader({ x402Version: 2, resource: { url }, accepted: offer, payload });
}

/** The signed receipt a response carries in PAYMENT-RESPONSE, if any. */
export function receiptIn(res: Response): SignedReceipt | undefined {
  const header = res.headers.get('PAYMENT-RESPONSE');
  if (header === null) return undefined;
  return SignedReceiptSchema.parse(decodePaymentResponseHeader(header).extensions?.[RECEIPT_EXTENSION_KEY]);
}

/** The `reason` of an answer: the 402's PaymentRequired.error, or the JSON error body's reason. */
export async function reasonOf(res: Response): Promise<string | undefined> {
  const required = res.headers.get('PAYMENT-REQUIRED');
  if (required !== null) {
    await res.body?.cancel();
    return decodePaymentRequiredHeader(required).error;
  }
  const body: unknown = await res.json().catch(() => undefined);
  return typeof body === 'object' && body !== null && 'reason' in body && typeof body.reason === 'string'
    ? body.reason
    : undefined;
}

const erc20 = parseAbi(['function transfer(address to, uint256 value) returns (bool)']);

/** Moves `amount` rUSD from one devnet account to another and waits for it to be mined. */
export async function moveTokens(
  devnet: EvmDevnet,
  from: EvmDevnetAccountName,
  to: EvmDevnetAccountName,
  amount: bigint,
): Promise<void> {
  const hash = await devnet.walletClientFor(from).writeContract({
    address: devnet.token.address,
    abi: erc20,
    functionName: 'transfer',
    args: [devnet.accounts[to].address, amount],
  });
  const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error('token transfer reverted');
}

/** rUSD balances of a devnet payer account and of the payee, read together. */
export async function payerPayeeBalances(
  devnet: EvmDevnet,
  payer: 'payer' | 'payer2' = 'payer',
): Promise<{ payer: bigint; payee: bigint }> {
  const [payerBalance, payee] = await Promise.all([
    devnet.balanceOf(devnet.accounts[payer].address),
    devnet.balanceOf(devnet.accounts.payee.address),
  ]);
  return { payer: payerBalance, payee };
}
