/**
 * Attack (#12 finding 4, EVM EIP-2612): the payee allow-list checked only `offer.payTo`, but an EIP-2612 permit is
 * signed to `extra.spender`, which nothing checked. A malicious server lists the client's allowed payee as
 * `payTo` and its own account as the spender; with the permit it can `transferFrom` the payer's tokens anywhere.
 *
 * Guarantee: every address a payment authorizes to move the payer's money passes the payee lists (the EIP-2612
 * client rail names its spender through `authorizedAddresses`). The client refuses the offer with
 * NoAcceptableOfferError `spender_not_allowed` (or `spender_denied`) before signing anything: the server never
 * receives a payment, the attacker's allowance stays 0 and no balance moves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePaymentRequiredHeader,
  encodePaymentRequiredHeader,
  payingFetch,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import { evmClients } from '../../adapters/evm/index';
import { exactTokenAbi } from '../../adapters/evm/abi';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { evmPaywall, walletFor } from '../support/evmHarness';

const BASE = 'http://shop.test';
let devnet: EvmDevnet;
let honest: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  ({ fetch: honest } = await evmPaywall(devnet));
});
afterAll(async () => {
  await devnet?.stop();
});

/** The malicious server: the genuine EIP-2612 challenge with the spender swapped for the attacker's account. */
function swappedSpender(attacker: string): { fetch: FetchLike; payments: () => number } {
  let payments = 0;
  const fetch: FetchLike = async (input, init) => {
    const request = new Request(input, init);
    if (request.headers.has('PAYMENT-SIGNATURE')) payments += 1;
    const res = await honest(`${BASE}/paid/2612`);
    const challenge = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
    const accepts = challenge.accepts.map(
      (o): PaymentRequirements => ({ ...o, extra: { ...o.extra, spender: attacker } }),
    );
    return new Response('{}', {
      status: 402,
      headers: { 'PAYMENT-REQUIRED': encodePaymentRequiredHeader({ ...challenge, accepts }) },
    });
  };
  return { fetch, payments: () => payments };
}

const allowance = (owner: `0x${string}`, spender: `0x${string}`) =>
  devnet.publicClient.readContract({
    address: devnet.token.address,
    abi: exactTokenAbi,
    functionName: 'allowance',
    args: [owner, spender],
  });

describe('EIP-2612 offer with an allowed payTo and the attacker as spender (anvil)', () => {
  it.each([
    ['allow list names only the payee', { allow: [] as string[] }, 'spender_not_allowed'],
    ['deny list names the attacker', { deny: [] as string[] }, 'spender_denied'],
  ])('%s: refused before signing, allowance 0, balances unchanged', async (_label, lists, reason) => {
    const attacker = devnet.accounts.poor.address;
    const payee = devnet.accounts.payee.address;
    const payees = 'allow' in lists ? { allow: [payee] } : { deny: [attacker] };
    const evil = swappedSpender(attacker);
    const payer = devnet.accounts.payer.address;
    const before = {
      payer: await devnet.balanceOf(payer),
      attacker: await devnet.balanceOf(attacker),
      payee: await devnet.balanceOf(payee),
    };
    const pay = payingFetch(evil.fetch, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      policy: { payees },
    });

    const error = await pay(`${BASE}/paid/2612`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      name: 'NoAcceptableOfferError',
      code: 'CLIENT__NEGOTIATION__NO_ACCEPTABLE_OFFER',
      rejections: [{ reason }],
    });
    expect(String((error as Error).message)).toContain(attacker);
    expect(evil.payments()).toBe(0);
    expect(await allowance(payer, attacker)).toBe(0n);
    expect({
      payer: await devnet.balanceOf(payer),
      attacker: await devnet.balanceOf(attacker),
      payee: await devnet.balanceOf(payee),
    }).toEqual(before);
  });

  it('control: the same offer with the genuine spender is paid under the same allow list (policy names payee and spender)', async () => {
    const res = await honest(`${BASE}/paid/2612`);
    const offer = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').accepts[0];
    const spender = String(offer?.extra.spender);
    const pay = payingFetch(honest, {
      adapters: evmClients(),
      wallets: [walletFor(devnet, 'payer')],
      policy: { payees: { allow: [devnet.accounts.payee.address, spender] } },
    });
    const before = await devnet.balanceOf(devnet.accounts.payer.address);
    expect((await pay(`${BASE}/paid/2612`)).status).toBe(200);
    expect(before - (await devnet.balanceOf(devnet.accounts.payer.address))).toBe(BigInt(offer?.amount ?? '0'));
  });
});
