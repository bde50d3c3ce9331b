/**
 * Safe default (#12): `x402-rails pay` caps one request at 1,000,000 atomic units of any asset without `--max`
 * (1 unit of a 6-decimal stablecoin), refuses an offer above it before paying and says how to raise the cap;
 * with `--max` it pays, and the server's signed receipt is verified and bound to the request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiptSigner, paywall } from '../../src/index';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { evmEip3009Server } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { jsonOf, runCli } from './runCli';

const PRICE = 1_000_001n;
let devnet: EvmDevnet;
let server: StartedServer;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const rail = evmEip3009Server({
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  });
  const pw = paywall(
    { 'GET /dear': { accepts: [{ rail: 'evm-eip3009', amount: PRICE }] } },
    { rails: [rail], signer: await createReceiptSigner() },
  );
  const handler = pw.wrap(async () => Response.json({ dear: true }));
  server = await serveFetch(handler);
});
afterAll(async () => {
  await server?.close();
  await devnet?.stop();
});

const env = () => ({ X402_EVM_PRIVATE_KEY: devnet.accounts.payer.privateKey, X402_EVM_RPC_URL: devnet.rpcUrl });
const payer = () => devnet.balanceOf(devnet.accounts.payer.address);

describe('x402-rails pay: the default per-request cap', () => {
  it('refuses 1,000,001 atomic units without --max (nothing paid, says how to raise it); pays it with --max', async () => {
    const before = await payer();
    const refused = await runCli(['pay', `${server.url}/dear`], { env: env() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Nothing was paid');
    expect(refused.stderr).toMatch(
      /1000001 0x[0-9a-fA-F]{40}: over_request_cap \(1000001 exceeds the default per-request cap of 1000000 atomic units/,
    );
    expect(refused.stderr).toContain('--max');
    expect(await payer()).toBe(before);

    const paid = await runCli(['pay', `${server.url}/dear`, '--max', PRICE.toString(), '--json'], { env: env() });
    expect(paid.code, paid.stderr).toBe(0);
    expect(jsonOf<{ status: number; receiptVerified: boolean; receiptCheck: string }>(paid)).toMatchObject({
      status: 200,
      receiptVerified: true,
      receiptCheck: 'signature',
    });
    expect(before - (await payer())).toBe(PRICE);
  });
});
