/**
 * Attack (#12 finding 2, facilitator): a permit names a spender (the facilitator's gas account), not a payee, and
 * the echoed `payTo` is not signed. A second tenant of the facilitator (its own API key) that holds a victim's
 * unsettled EIP-2612 payload `/settle`s it with its own `payTo`: before the fix the facilitator ran permit +
 * transferFrom to the attacker, and the victim's merchant then got `payment_already_used`.
 *
 * Guarantee: the facilitator's EIP-2612 spender pays only the one payee it is bound to. The attacker's /verify and
 * /settle are refused with `payee_not_bound` (repeatedly), nothing is submitted (the payer's permit nonce is
 * unchanged) and the attacker's balance stays 0; the victim's merchant then settles the same payload: payer
 * −PRICE, merchant +PRICE. The same redirect of an EIP-3009 payload is refused too (its signature binds `to`):
 * `payee_mismatch`. Own EVM devnet (balance assertions).
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip2612Client, exactTokenAbi } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import type { StartedFacilitator } from '../../src/facilitator/index';
import type { PaymentPayload, PaymentRequirements } from '../../src/index';
import { PRICE, walletFor } from '../support/evmHarness';
import {
  bearer,
  facilitatorBody,
  requirementsFor,
  signedPayment,
  startEvmFacilitator,
} from '../support/facilitatorHarness';

const VICTIM_KEY = 'tenant-victim-key-0123456789abcdef';
const ATTACKER_KEY = 'tenant-attacker-key-0123456789abcd';
const attacker = privateKeyToAccount(generatePrivateKey()).address;
let devnet: EvmDevnet;
let fac: StartedFacilitator;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  // Both EVM rails; EIP-2612's spender (the `facilitator` gas account) is bound to the victim merchant (`payee`).
  fac = await startEvmFacilitator(devnet, { apiKeys: [VICTIM_KEY, ATTACKER_KEY] });
});
afterAll(async () => {
  await fac?.close();
  await devnet?.stop();
});

async function post(path: '/verify' | '/settle', body: string, key: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${fac.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(key) },
    body,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const balances = async () => ({
  payer: await devnet.balanceOf(devnet.accounts.payer.address),
  merchant: await devnet.balanceOf(devnet.accounts.payee.address),
  attacker: await devnet.balanceOf(attacker),
});
const permitNonce = () =>
  devnet.publicClient.readContract({
    address: devnet.token.address,
    abi: exactTokenAbi,
    functionName: 'nonces',
    args: [devnet.accounts.payer.address],
  });

describe('a tenant redirects another tenant’s payment to itself', () => {
  it('EIP-2612: the attacker’s /verify and /settle with its own payTo are refused (payee_not_bound), then the merchant settles it', async () => {
    const requirements: PaymentRequirements = requirementsFor(devnet, {
      extra: {
        name: devnet.token.name,
        version: devnet.token.version,
        assetTransferMethod: 'eip2612',
        spender: devnet.accounts.facilitator.address,
      },
    });
    const payload = await evmEip2612Client().createPayment(requirements, walletFor(devnet, 'payer'), {
      resource: { url: 'http://shop.test/paid' },
      x402Version: 2,
      now: Date.now(),
    });
    const victim: PaymentPayload = {
      x402Version: 2,
      resource: { url: 'http://shop.test/paid' },
      accepted: requirements,
      payload,
    };
    const redirected = { ...requirements, payTo: attacker };
    const start = await balances();
    const nonce = await permitNonce();

    expect(
      await post('/verify', facilitatorBody({ ...victim, accepted: redirected }, redirected), ATTACKER_KEY),
    ).toMatchObject({ isValid: false, invalidReason: 'payee_not_bound' });
    for (let i = 0; i < 3; i++) {
      const settled = await post(
        '/settle',
        facilitatorBody({ ...victim, accepted: redirected }, redirected),
        ATTACKER_KEY,
      );
      expect(settled).toMatchObject({ success: false, errorReason: 'payee_not_bound', transaction: '' });
      expect(String(settled['errorMessage'])).toContain('a permit binds a spender, not a payee');
    }
    expect(await balances()).toEqual(start);
    expect(await permitNonce()).toBe(nonce); // not even the permit was submitted

    const paid = await post('/settle', facilitatorBody(victim), VICTIM_KEY);
    expect(paid).toMatchObject({ success: true, payer: devnet.accounts.payer.address, amount: PRICE.toString() });
    const end = await balances();
    expect(start.payer - end.payer).toBe(PRICE);
    expect(end.merchant - start.merchant).toBe(PRICE);
    expect(end.attacker).toBe(0n);
    // and the attacker's later attempt still gets nothing
    expect(
      await post('/settle', facilitatorBody({ ...victim, accepted: redirected }, redirected), ATTACKER_KEY),
    ).toMatchObject({ success: false });
    expect(await balances()).toEqual(end);
  });

  it('EIP-3009: the same redirect is refused (payee_mismatch: the signature binds `to`); the merchant then settles it', async () => {
    const requirements = requirementsFor(devnet);
    const victim = await signedPayment(devnet, requirements);
    const redirected = { ...requirements, payTo: attacker };
    const start = await balances();
    expect(
      await post('/settle', facilitatorBody({ ...victim, accepted: redirected }, redirected), ATTACKER_KEY),
    ).toMatchObject({ success: false, errorReason: 'payee_mismatch' });
    expect(await balances()).toEqual(start);
    expect(await post('/settle', facilitatorBody(victim), VICTIM_KEY)).toMatchObject({ success: true });
    const end = await balances();
    expect(start.payer - end.payer).toBe(PRICE);
    expect(end.merchant - start.merchant).toBe(PRICE);
    expect(end.attacker).toBe(0n);
  });
});
