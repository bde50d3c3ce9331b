/**
 * Safe default (#12): a facilitator started without API keys settles for anyone who reaches it, through the
 * operator's gas account. Before the fix nothing stopped it from listening on every interface (`--host 0.0.0.0`),
 * and the CLI facilitator offered EIP-2612 with its gas account as spender to any payee a caller named.
 *
 * Guarantee: without keys the facilitator binds only to loopback: startFacilitator refuses a non-loopback hostname
 * (ConfigurationError CONFIG__FACILITATOR__OPEN) unless `allowOpen`, and the CLI refuses `--host 0.0.0.0` without
 * X402_FACILITATOR_KEYS (exit 1) unless `--open`; with keys, or on purpose, it may listen anywhere. The CLI offers
 * EIP-2612 only with X402_EVM_EIP2612_PAYEE, and then settles permits only to that payee. Own EVM devnet.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip2612Client } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { startFacilitator } from '../../src/facilitator/index';
import { isLoopback } from '../../src/facilitator/isLoopback';
import { ConfigurationError } from '../../src/index';
import { runCli, startCli } from '../cli/runCli';
import { PRICE, walletFor } from '../support/evmHarness';
import { FACILITATOR_KEY, facilitatorBody, facilitatorRails, requirementsFor } from '../support/facilitatorHarness';

let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

describe('an open facilitator (no API keys)', () => {
  it('tells loopback from the rest', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.7', '192.168.1.2', 'example.com', '128.0.0.1', '127.0.0.1.nip.io'])
      expect(isLoopback(host)).toBe(false);
  });

  it('binds to 127.0.0.1 by default and refuses 0.0.0.0 unless allowOpen; with keys it may bind anywhere', async () => {
    const rails = facilitatorRails(devnet);
    const local = await startFacilitator({ rails });
    expect(new URL(local.url).hostname).toBe('127.0.0.1');
    await local.close();
    const refused = await startFacilitator({ rails, hostname: '0.0.0.0' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect(refused).toMatchObject({ code: 'CONFIG__FACILITATOR__OPEN', message: expect.stringContaining('allowOpen') });
    const emptyKeys = await startFacilitator({ rails, apiKeys: [], hostname: '0.0.0.0' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(emptyKeys).toMatchObject({ code: 'CONFIG__FACILITATOR__OPEN' });
    const open = await startFacilitator({ rails, hostname: '0.0.0.0', allowOpen: true });
    await open.close();
    const keyed = await startFacilitator({ rails, hostname: '0.0.0.0', apiKeys: [FACILITATOR_KEY] });
    await keyed.close();
  });

  it('CLI: --host 0.0.0.0 without keys exits 1 with the reason (nothing listens); --open is the explicit way', async () => {
    const run = await runCli(['facilitator', '--host', '0.0.0.0', '--port', '0'], {
      env: { X402_FACILITATOR_KEYS: '' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--open');
    expect(run.stderr).toContain('X402_FACILITATOR_KEYS');
  });

  it('CLI: EIP-2612 is offered only with X402_EVM_EIP2612_PAYEE, and then pays only that payee', async () => {
    const payee = devnet.accounts.payee.address;
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    const env = {
      X402_EVM_RPC_URL: devnet.rpcUrl,
      X402_FACILITATOR_EVM_PRIVATE_KEY: devnet.accounts.facilitator.privateKey,
      X402_EVM_TOKEN_ADDRESS: devnet.token.address,
      X402_EVM_EIP2612_PAYEE: payee,
      X402_FACILITATOR_KEYS: '',
    };
    const cli = await startCli<{ url: string; rails: string[] }>(['facilitator', '--port', '0', '--json'], { env });
    try {
      expect(cli.ready.rails).toEqual(['evm-eip3009', 'evm-permit2', 'evm-upto', 'evm-eip2612']);
      const requirements = requirementsFor(devnet, {
        extra: {
          name: devnet.token.name,
          version: devnet.token.version,
          assetTransferMethod: 'eip2612',
          spender: devnet.accounts.facilitator.address,
        },
      });
      const payload = await evmEip2612Client().createPayment(requirements, walletFor(devnet, 'payer'), {
        resource: { url: 'http://shop.test/x' },
        x402Version: 2,
        now: Date.now(),
      });
      const redirected = { ...requirements, payTo: stranger };
      const before = await devnet.balanceOf(devnet.accounts.payer.address);
      const res = await fetch(`${cli.ready.url}/settle`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: facilitatorBody({ x402Version: 2, accepted: redirected, payload }, redirected),
      });
      expect(await res.json()).toMatchObject({ success: false, errorReason: 'payee_not_bound' });
      expect(await devnet.balanceOf(stranger)).toBe(0n);
      expect(await devnet.balanceOf(devnet.accounts.payer.address)).toBe(before);
      const paid = await fetch(`${cli.ready.url}/settle`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: facilitatorBody({ x402Version: 2, accepted: requirements, payload }, requirements),
      });
      expect(await paid.json()).toMatchObject({ success: true });
      expect(before - (await devnet.balanceOf(devnet.accounts.payer.address))).toBe(PRICE);
    } finally {
      expect(await cli.stop('SIGTERM')).toMatchObject({ code: 0 });
    }
  });
});
