import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxUint256, type Address } from 'viem';
import {
  createReceiptSigner,
  encodePaymentSignatureHeader,
  paywall,
  reportCharge,
  splitPayloadExtensions,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import {
  PERMIT2_ADDRESS,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  evmPermit2Server,
  evmUptoClient,
  evmUptoServer,
  exactPermit2WitnessTypes,
  permitTypes,
} from '../../adapters/evm/index';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { walletFor } from '../support/evmHarness';
import { offerOf, reasonOf } from './support/evmFlow';

/**
 * Issue 14, negatives on anvil: Permit2 payments (`exact` + permit2, `eip2612GasSponsoring`, `upto`) that must be
 * refused, each with its reason, and move nothing: no token balance and no Permit2 allowance changes.
 * `payer2` approved Permit2 once; `payer` never did.
 */

const PRICE = 7_000n;
const MAX = 9_000n;
let devnet: EvmDevnet;
let shop: FetchLike;
/** Another shop with its own payment store, same payee and chain: a payment settled at `shop` presented here. */
let otherShop: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const approve = await devnet.walletClientFor('payer2').writeContract({
    address: devnet.token.address,
    abi: railsTokenAbi,
    functionName: 'approve',
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await devnet.publicClient.waitForTransactionReceipt({ hash: approve });
  const settler = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  };
  const common = { ...settler, chainId: devnet.chainId, token: devnet.token, payTo: devnet.accounts.payee.address };
  const build = async () => {
    const pw = paywall(
      {
        'GET /p2': { accepts: [{ rail: 'evm-permit2', amount: PRICE }] },
        'GET /upto-over': { accepts: [{ rail: 'evm-upto', amount: MAX }] },
      },
      {
        rails: [evmPermit2Server(common), evmUptoServer(common)],
        signer: await createReceiptSigner(),
        issuer: 'http://shop.test',
      },
    );
    const wrapped = pw.wrap(async (request) => {
      if (new URL(request.url).pathname === '/upto-over') reportCharge(request, MAX + 1n);
      return Response.json({ ok: true });
    });
    return async (input: string | URL | Request, init?: RequestInit) => wrapped(new Request(input, init));
  };
  shop = await build();
  otherShop = await build();
});
afterAll(async () => {
  await devnet?.stop();
});

/** Every balance and Permit2-related allowance an attack could move. */
async function ledger() {
  const { payer, payer2, payee, facilitator } = devnet.accounts;
  const allowance = (owner: Address, spender: Address) =>
    devnet.publicClient.readContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'allowance',
      args: [owner, spender],
    });
  return {
    balances: await Promise.all([payer, payer2, payee, facilitator].map((a) => devnet.balanceOf(a.address))),
    allowances: await Promise.all([
      allowance(payer.address, PERMIT2_ADDRESS),
      allowance(payer.address, payer2.address),
      allowance(payer.address, facilitator.address),
    ]),
  };
}

type Authorization = { to: Address; nonce: bigint; deadline: bigint; amount?: bigint };

/** A Permit2 `exact` payment signed by `from` with chosen fields (what a crafted client would send). */
async function permit2Payload(
  offer: PaymentRequirements,
  from: 'payer' | 'payer2',
  a: Authorization,
): Promise<Record<string, unknown>> {
  const wallet = devnet.walletClientFor(from);
  const amount = a.amount ?? BigInt(offer.amount);
  const message = {
    permitted: { token: devnet.token.address, amount },
    spender: X402_EXACT_PERMIT2_PROXY_ADDRESS,
    nonce: a.nonce,
    deadline: a.deadline,
    witness: { to: a.to, validAfter: 0n },
  };
  const signature = await wallet.signTypedData({
    domain: { name: 'Permit2', chainId: devnet.chainId, verifyingContract: PERMIT2_ADDRESS },
    types: exactPermit2WitnessTypes,
    primaryType: 'PermitWitnessTransferFrom',
    message,
  });
  return {
    signature,
    permit2Authorization: {
      from: wallet.account.address,
      permitted: { token: devnet.token.address, amount: amount.toString() },
      spender: X402_EXACT_PERMIT2_PROXY_ADDRESS,
      nonce: a.nonce.toString(),
      deadline: a.deadline.toString(),
      witness: { to: a.to, validAfter: '0' },
    },
  };
}

/** Sends `payload` (its `extensions` at the PaymentPayload's top) for `offer` at `url`. */
function send(url: string, offer: PaymentRequirements, railPayload: Record<string, unknown>): Promise<Response> {
  const { payload, extensions } = splitPayloadExtensions(railPayload);
  return shop(url, {
    headers: {
      'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
        x402Version: 2,
        resource: { url },
        accepted: offer,
        payload,
        ...(extensions ? { extensions } : {}),
      }),
    },
  });
}

const soon = () => BigInt(Math.floor(Date.now() / 1000) + 300);
let nonce = 1_000n;

describe('Permit2 payments that must be refused, balances and allowances unchanged', () => {
  it('witness `to` ≠ payTo: refused payee_mismatch', async () => {
    const url = 'http://shop.test/p2';
    const offer = await offerOf(shop, url);
    const before = await ledger();
    const res = await send(
      url,
      offer,
      await permit2Payload(offer, 'payer2', { to: devnet.accounts.payer2.address, nonce: nonce++, deadline: soon() }),
    );
    expect(res.status).toBe(402);
    expect(await reasonOf(res)).toBe('payee_mismatch');
    expect(await ledger()).toEqual(before);
  });

  it('an expired deadline: refused expired', async () => {
    const url = 'http://shop.test/p2';
    const offer = await offerOf(shop, url);
    const before = await ledger();
    const res = await send(
      url,
      offer,
      await permit2Payload(offer, 'payer2', {
        to: devnet.accounts.payee.address,
        nonce: nonce++,
        deadline: BigInt(Math.floor(Date.now() / 1000) - 1),
      }),
    );
    expect(await reasonOf(res)).toBe('expired');
    expect(await ledger()).toEqual(before);
  });

  it('a Permit2 nonce already used by a payment settled at one shop: a payment with it at another shop is refused nonce_used', async () => {
    const url = 'http://shop.test/p2';
    const reused = nonce++;
    const first = await offerOf(shop, url);
    const paid = await send(
      url,
      first,
      await permit2Payload(first, 'payer2', { to: devnet.accounts.payee.address, nonce: reused, deadline: soon() }),
    );
    expect(paid.status).toBe(200);
    const before = await ledger();
    // Presented where no store knows it (another shop): only the chain's nonce bitmap can refuse it.
    const second = await offerOf(otherShop, url);
    const { payload, extensions } = splitPayloadExtensions(
      await permit2Payload(second, 'payer2', {
        to: devnet.accounts.payee.address,
        nonce: reused,
        deadline: soon() + 7n,
      }),
    );
    const res = await otherShop(url, {
      headers: {
        'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
          x402Version: 2,
          resource: { url },
          accepted: second,
          payload,
          ...(extensions ? { extensions } : {}),
        }),
      },
    });
    expect(res.status).toBe(402);
    expect(await reasonOf(res)).toBe('nonce_used');
    expect(await ledger()).toEqual(before);
  });

  it('no Permit2 approval and no sponsoring permit: refused permit2_allowance_required', async () => {
    const url = 'http://shop.test/p2';
    const offer = await offerOf(shop, url);
    const before = await ledger();
    const res = await send(
      url,
      offer,
      await permit2Payload(offer, 'payer', { to: devnet.accounts.payee.address, nonce: nonce++, deadline: soon() }),
    );
    expect(await reasonOf(res)).toBe('permit2_allowance_required');
    expect(await ledger()).toEqual(before);
  });

  it('a sponsoring permit for another spender than Permit2 (named or only signed): refused, and no allowance appears', async () => {
    const url = 'http://shop.test/p2';
    const payer = devnet.accounts.payer.address;
    const attacker = devnet.accounts.payer2.address;
    const permitNonce = await devnet.publicClient.readContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'nonces',
      args: [payer],
    });
    const deadline = soon();
    const signedFor = (spender: Address) =>
      devnet.walletClientFor('payer').signTypedData({
        domain: {
          name: devnet.token.name,
          version: devnet.token.version,
          chainId: devnet.chainId,
          verifyingContract: devnet.token.address,
        },
        types: permitTypes,
        primaryType: 'Permit',
        message: { owner: payer, spender, value: PRICE, nonce: permitNonce, deadline },
      });
    const info = (spender: Address, signature: string) => ({
      from: payer,
      asset: devnet.token.address,
      spender,
      amount: PRICE.toString(),
      nonce: permitNonce.toString(),
      deadline: deadline.toString(),
      signature,
      version: '1',
    });
    const cases = [
      { spender: attacker, signature: await signedFor(attacker), reason: 'eip2612_spender_not_permit2' },
      { spender: PERMIT2_ADDRESS, signature: await signedFor(attacker), reason: 'eip2612_invalid_signature' },
    ];
    for (const c of cases) {
      const offer = await offerOf(shop, url);
      const before = await ledger();
      const payment = await permit2Payload(offer, 'payer', {
        to: devnet.accounts.payee.address,
        nonce: nonce++,
        deadline,
      });
      const res = await send(url, offer, {
        ...payment,
        extensions: { eip2612GasSponsoring: { info: info(c.spender, c.signature) } },
      });
      expect(await reasonOf(res)).toBe(c.reason);
      expect(await ledger()).toEqual(before);
    }
  });

  it('upto: a route charging above the authorized maximum settles nothing (invalid_upto_evm_payload_settlement_exceeds_amount)', async () => {
    const url = 'http://shop.test/upto-over';
    const offer = await offerOf(shop, url);
    const before = await ledger();
    const payload = await evmUptoClient().createPayment(offer, walletFor(devnet, 'payer2'), {
      resource: { url },
      x402Version: 2,
      now: Date.now(),
    });
    const res = await send(url, offer, payload);
    expect(res.status).toBe(402);
    expect(await reasonOf(res)).toBe('invalid_upto_evm_payload_settlement_exceeds_amount');
    expect(await ledger()).toEqual(before);
  });
});
