/**
 * Attack (#12 finding 11): `x402-rails pay` against a plain x402 server (the official `@x402/hono` middleware,
 * which signs no receipt of ours) printed "Receipt (signature verified against the issuer's JWKS)" for a receipt
 * the client had built itself from the server's SettleResponse. A server that answers 200 with a forged
 * SettleResponse (success, a transaction hash that moved nothing of ours) and never settles got a receipt
 * presented as verified.
 *
 * Guarantee: the CLI never claims a signature that does not exist. It says where the receipt came from and what
 * was checked: a settle-response receipt is checked on chain (the transaction holds a Transfer of the amount from
 * the payer to payTo of the asset) and printed as "checked on chain"; a forged one is refuted (exit 1,
 * `receiptVerified: false`, `receiptError` names the reason) and no money moved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { serveFetch, type StartedServer } from '../../src/server/node';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { OFFICIAL_PRICE, officialEvmFacilitator, officialEvmHonoApp } from '../interop/support/officialEvm';
import { jsonOf, runCli } from '../cli/runCli';

type PayJson = {
  status: number;
  paid: boolean;
  receiptVerified: boolean;
  receiptSource?: string;
  receiptCheck?: string;
  receiptError?: string;
  receipt?: { reference: string };
};

let devnet: EvmDevnet;
const servers: StartedServer[] = [];

beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await devnet?.stop();
});

async function serve(app: Hono): Promise<string> {
  const server = await serveFetch((request) => app.fetch(request));
  servers.push(server);
  return server.url;
}

const env = () => ({ X402_EVM_PRIVATE_KEY: devnet.accounts.payer.privateKey, X402_EVM_RPC_URL: devnet.rpcUrl });
const payerBalance = () => devnet.balanceOf(devnet.accounts.payer.address);

describe('x402-rails pay against a plain x402 server (official @x402/hono on anvil)', () => {
  it('an honest server: the receipt is said to be built from the settlement answer and checked on chain, not signed', async () => {
    const url = await serve(officialEvmHonoApp(devnet, officialEvmFacilitator(devnet).client));
    const before = await payerBalance();
    const text = await runCli(['pay', `${url}/weather`], { env: env() });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).not.toContain('signature verified');
    expect(text.stderr).toContain(
      "built from the server's settlement answer; the server signed no receipt; checked on chain",
    );
    const json = jsonOf<PayJson>(await runCli(['pay', `${url}/weather`, '--json'], { env: env() }));
    expect(json).toMatchObject({
      status: 200,
      paid: true,
      receiptVerified: true,
      receiptSource: 'settle-response',
      receiptCheck: 'on_chain',
    });
    expect(before - (await payerBalance())).toBe(2n * OFFICIAL_PRICE);
  });

  it.each([
    ['a transaction hash that does not exist', () => `0x${'ab'.repeat(32)}`, 'not on chain'],
    [
      'a real transaction that moved nothing of the payer',
      async () =>
        (await devnet
          .walletClientFor('deployer')
          .sendTransaction({ to: devnet.accounts.payee.address, value: 1n })) as string,
      'no Transfer of',
    ],
  ])(
    'a forged settlement answer (%s): refuted, exit 1, never "verified", no money moved',
    async (_label, forged, why) => {
      const transaction = await forged();
      const real = officialEvmFacilitator(devnet).client;
      const lying = {
        ...real,
        settle: async () => ({
          success: true,
          transaction,
          network: devnet.network,
          payer: devnet.accounts.payer.address,
        }),
      };
      const url = await serve(officialEvmHonoApp(devnet, lying));
      const before = await payerBalance();
      const run = await runCli(['pay', `${url}/weather`, '--json'], { env: env() });
      expect(run.code).toBe(1);
      const json = jsonOf<PayJson>(run);
      expect(json).toMatchObject({ status: 200, paid: true, receiptVerified: false, receiptSource: 'settle-response' });
      expect(json.receipt).toBeUndefined();
      expect(json.receiptError).toContain(why);
      expect(run.stderr).toContain('The receipt did not check out');
      expect(run.stderr).not.toContain('verified');
      expect(await payerBalance()).toBe(before);
    },
  );
});
