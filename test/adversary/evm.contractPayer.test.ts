/**
 * Attack (#12 finding 5, same class): a payer account that has code (a smart wallet, or an EOA with an EIP-7702
 * delegation). OpenZeppelin's SignatureChecker in the token then skips ECDSA and asks the account (ERC-1271); an
 * account that says no (here: code that answers nothing) makes every settlement revert, while verify, which only
 * recovered the ECDSA signer, passed: the handler ran for free, again and again with fresh authorizations.
 *
 * Guarantee: verify asks the account as the token will. With code that does not approve, the payment is refused
 * at verify (402 invalid_signature) 5 times out of 5, the handler runs 0 times and no balance moves; once the
 * account's code approves (ERC-1271 magic value), the same kind of payment is served and settles: payer −PRICE,
 * payee +PRICE. Own EVM devnet (anvil_setCode on the payer).
 */
import { encodeFunctionData, parseSignature, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactTokenAbi, type Eip3009Payload } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { decodePaymentSignatureHeader } from '../../src/index';
import { PRICE } from '../support/evmHarness';
import { flowPaywall, offerOf, paymentHeader, reasonOf, payerPayeeBalances } from './support/evmFlow';

const URL_ = 'http://shop.test/report';
const routes = { 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } };
/** Runtime code that stops at once: any call succeeds with no return data (ERC-1271 "no"). */
const SILENT: Hex = '0x00';
/** Runtime code that returns the ERC-1271 magic value 0x1626ba7e for any call (approves every signature). */
const APPROVE_ALL: Hex = '0x631626ba7e60e01b60005260206000f3';
let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => payerPayeeBalances(devnet, 'payer2');

describe('a payer account with code (smart wallet / EIP-7702)', () => {
  it('code that does not approve: refused at verify 5 times (handler 0 runs, no money moves); code that approves: served and paid', async () => {
    const runs = { count: 0 };
    const { fetch } = await flowPaywall(devnet, routes, async () => {
      runs.count++;
      return Response.json({ served: true });
    });
    const payer = devnet.accounts.payer2.address;
    await devnet.testClient.setCode({ address: payer, bytecode: SILENT });
    const start = await balances();

    const reasons: Array<string | undefined> = [];
    for (let i = 0; i < 5; i++) {
      const header = await paymentHeader(devnet, await offerOf(fetch, URL_), URL_, 'payer2');
      if (i === 0) {
        // The premise: the token refuses this (ECDSA-valid) authorization from an account with code.
        const a = (decodePaymentSignatureHeader(header).payload as Eip3009Payload).authorization;
        const { r, s, v } = parseSignature((decodePaymentSignatureHeader(header).payload as Eip3009Payload).signature);
        const data = encodeFunctionData({
          abi: exactTokenAbi,
          functionName: 'transferWithAuthorization',
          args: [a.from, a.to, BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce, Number(v), r, s],
        });
        await expect(
          devnet.publicClient.call({ to: devnet.token.address, data, account: devnet.accounts.facilitator.address }),
        ).rejects.toThrow();
      }
      const res = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': header } });
      expect(res.status).toBe(402);
      reasons.push(await reasonOf(res));
    }
    expect(reasons).toEqual(Array.from({ length: 5 }, () => 'invalid_signature'));
    expect(runs.count).toBe(0);
    expect(await balances()).toEqual(start);

    await devnet.testClient.setCode({ address: payer, bytecode: APPROVE_ALL });
    const header = await paymentHeader(devnet, await offerOf(fetch, URL_), URL_, 'payer2');
    const paid = await fetch(URL_, { headers: { 'PAYMENT-SIGNATURE': header } });
    expect(paid.status).toBe(200);
    expect(runs.count).toBe(1);
    const end = await balances();
    expect(start.payer - end.payer).toBe(PRICE);
    expect(end.payee - start.payee).toBe(PRICE);
    await devnet.testClient.setCode({ address: payer, bytecode: '0x' });
  });
});
