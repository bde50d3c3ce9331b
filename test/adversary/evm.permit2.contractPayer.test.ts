/**
 * Permit2 payers that are contract accounts (smart wallets, EIP-7702 delegated accounts), on anvil (issue 14,
 * optional part): Permit2 checks such an owner with ERC-1271 only (`isValidSignature(digest, signature)`, the
 * signature as signed), never ECDSA, and verify does the same. An account whose code approves pays with a signature
 * that is not its own ECDSA signature (here: another key's), and the payment settles (payer2 −PRICE, payee +PRICE);
 * an account whose code does not approve is refused at verify (`invalid_signature`, not at settlement) even with a
 * valid ECDSA signature of its own key, and nothing moves. Own EVM devnet (anvil_setCode on payer2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxUint256, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  createReceiptSigner,
  encodePaymentSignatureHeader,
  paywall,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import {
  PERMIT2_ADDRESS,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  evmPermit2Server,
  exactPermit2WitnessTypes,
} from '../../adapters/evm/index';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { offerOf, reasonOf } from './support/evmFlow';

const PRICE = 7_000n;
const URL_ = 'http://shop.test/p2';
/** Runtime code that returns the ERC-1271 magic value 0x1626ba7e for any call (approves every signature). */
const APPROVE_ALL: Hex = '0x631626ba7e60e01b60005260206000f3';
/** Runtime code that stops at once: any call succeeds with no return data (ERC-1271 "no"). */
const SILENT: Hex = '0x00';
let devnet: EvmDevnet;
let shop: FetchLike;
let runs = 0;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  // payer2 approves Permit2 while it is still a plain account.
  const approve = await devnet.walletClientFor('payer2').writeContract({
    address: devnet.token.address,
    abi: railsTokenAbi,
    functionName: 'approve',
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await devnet.publicClient.waitForTransactionReceipt({ hash: approve });
  const pw = paywall(
    { 'GET /p2': { accepts: [{ rail: 'evm-permit2', amount: PRICE }] } },
    {
      rails: [
        evmPermit2Server({
          publicClient: devnet.publicClient,
          walletClient: devnet.walletClientFor('facilitator'),
          confirmTimeoutMs: 10_000,
          pollingIntervalMs: 5,
          chainId: devnet.chainId,
          token: devnet.token,
          payTo: devnet.accounts.payee.address,
        }),
      ],
      signer: await createReceiptSigner(),
    },
  );
  const wrapped = pw.wrap(async () => {
    runs++;
    return Response.json({ ok: true });
  });
  shop = async (input, init) => wrapped(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

let nonce = 5_000n;
/** A Permit2 `exact` payment from payer2 for `offer`, signed by `signerKey` (payer2's own key or another). */
async function payFromPayer2(offer: PaymentRequirements, signerKey: Hex): Promise<Response> {
  const from: Address = devnet.accounts.payer2.address;
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 300);
  const message = {
    permitted: { token: devnet.token.address, amount: PRICE },
    spender: X402_EXACT_PERMIT2_PROXY_ADDRESS,
    nonce: nonce++,
    deadline,
    witness: { to: devnet.accounts.payee.address, validAfter: 0n },
  };
  const signature = await privateKeyToAccount(signerKey).signTypedData({
    domain: { name: 'Permit2', chainId: devnet.chainId, verifyingContract: PERMIT2_ADDRESS },
    types: exactPermit2WitnessTypes,
    primaryType: 'PermitWitnessTransferFrom',
    message,
  });
  const payload = {
    signature,
    permit2Authorization: {
      from,
      permitted: { token: devnet.token.address, amount: PRICE.toString() },
      spender: X402_EXACT_PERMIT2_PROXY_ADDRESS,
      nonce: message.nonce.toString(),
      deadline: deadline.toString(),
      witness: { to: devnet.accounts.payee.address, validAfter: '0' },
    },
  };
  return shop(URL_, {
    headers: {
      'PAYMENT-SIGNATURE': encodePaymentSignatureHeader({
        x402Version: 2,
        resource: { url: URL_ },
        accepted: offer,
        payload,
      }),
    },
  });
}
const balances = async () => ({
  payer2: await devnet.balanceOf(devnet.accounts.payer2.address),
  payee: await devnet.balanceOf(devnet.accounts.payee.address),
});

describe('Permit2 payers with code (ERC-1271)', () => {
  it('code that approves: a signature that is not its ECDSA signature pays, as Permit2 settles it', async () => {
    await devnet.testClient.setCode({ address: devnet.accounts.payer2.address, bytecode: APPROVE_ALL });
    const before = await balances();
    const res = await payFromPayer2(await offerOf(shop, URL_), devnet.accounts.payer.privateKey as Hex);
    expect(res.status).toBe(200);
    const after = await balances();
    expect(after.payer2).toBe(before.payer2 - PRICE);
    expect(after.payee).toBe(before.payee + PRICE);
  });

  it('code that does not approve: refused at verify (invalid_signature) even with its own ECDSA signature; nothing moves, nothing served', async () => {
    await devnet.testClient.setCode({ address: devnet.accounts.payer2.address, bytecode: SILENT });
    const before = await balances();
    const served = runs;
    const res = await payFromPayer2(await offerOf(shop, URL_), devnet.accounts.payer2.privateKey as Hex);
    expect(res.status).toBe(402);
    expect(await reasonOf(res)).toBe('invalid_signature');
    expect(await balances()).toEqual(before);
    expect(runs).toBe(served);
  });
});
