/**
 * The official x402 stack as the bench's baseline, on the same anvil devnet and token as ours: the official
 * `@x402/core` facilitator with the `@x402/evm` exact scheme (in-process behind the `@x402/hono` server, and over
 * HTTP for the `/verify` comparison), and the `@x402/hono` app of the interop tests, served on a socket the same
 * way as ours (`serveFetch`: node:http through `@hono/node-server`).
 *
 * Its settlements go out from the devnet's `poor` account (ETH for gas, no tokens), so they never share a nonce
 * sequence with ours (`facilitator`). Receipts are polled every `pollMs`, as ours are.
 */
import { Hono } from 'hono';
import { createWalletClient, http, nonceManager, publicActions, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { wrapFetchWithPayment } from '@x402/fetch';
import { x402Facilitator } from '@x402/core/facilitator';
import type { FacilitatorClient } from '@x402/core/server';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from '@x402/evm/exact/facilitator';
import { isCaipNetwork } from '../src/index';
import { serveFetch, type StartedServer } from '../src/server/node';
import type { EvmDevnet } from '../fixtures/evm/index';
import { officialEvmClient, officialEvmHonoApp } from '../test/interop/support/officialEvm';

/** The official facilitator and server, running. */
export type OfficialStack = {
  /** The `@x402/hono` app on a socket: `GET /weather` is priced, `GET /free` is not. */
  server: StartedServer;
  /** The official facilitator behind a minimal HTTP front (`POST /verify`, `POST /settle`, `GET /supported`). */
  facilitator: StartedServer;
  close(): Promise<void>;
};

/**
 * The official exact-EVM facilitator settling from `poor`, with a viem nonce manager (without one, concurrent
 * settlements from one account collide on the nonce, which would measure a misconfiguration instead of the stack).
 */
function officialFacilitator(devnet: EvmDevnet, pollMs: number): x402Facilitator {
  const account = privateKeyToAccount(devnet.accounts.poor.privateKey as Hex, { nonceManager });
  const wallet = createWalletClient({ account, chain: devnet.chain, transport: http(devnet.rpcUrl) }).extend(
    publicActions,
  );
  const signer = toFacilitatorEvmSigner({
    address: account.address,
    readContract: (args) => wallet.readContract(args as Parameters<typeof wallet.readContract>[0]),
    verifyTypedData: (args) => wallet.verifyTypedData(args as Parameters<typeof wallet.verifyTypedData>[0]),
    writeContract: (args) => wallet.writeContract(args as Parameters<typeof wallet.writeContract>[0]),
    sendTransaction: (args) => wallet.sendTransaction(args),
    waitForTransactionReceipt: (args) => wallet.waitForTransactionReceipt({ ...args, pollingInterval: pollMs }),
    getCode: (args) => wallet.getCode(args),
  });
  return new x402Facilitator().register(devnet.network, new ExactEvmFacilitatorScheme(signer));
}

/** The in-process client the `@x402/hono` server talks to (CAIP networks only, as in the interop tests). */
function inProcessClient(facilitator: x402Facilitator): FacilitatorClient {
  return {
    verify: (payload, requirements) => facilitator.verify(payload, requirements),
    settle: (payload, requirements) => facilitator.settle(payload, requirements),
    getSupported: async () => {
      const supported = facilitator.getSupported();
      return {
        ...supported,
        kinds: supported.kinds.flatMap(({ network, ...kind }) =>
          isCaipNetwork(network) ? [{ ...kind, network }] : [],
        ),
      };
    },
  };
}

/** The official facilitator over HTTP, with the x402 facilitator wire (`{ paymentPayload, paymentRequirements }`). */
function facilitatorHttpApp(facilitator: x402Facilitator): Hono {
  type Body = {
    paymentPayload: Parameters<x402Facilitator['verify']>[0];
    paymentRequirements: Parameters<x402Facilitator['verify']>[1];
  };
  const app = new Hono();
  app.post('/verify', async (c) => {
    const body = await c.req.json<Body>();
    return c.json(await facilitator.verify(body.paymentPayload, body.paymentRequirements));
  });
  app.post('/settle', async (c) => {
    const body = await c.req.json<Body>();
    return c.json(await facilitator.settle(body.paymentPayload, body.paymentRequirements));
  });
  app.get('/supported', (c) => c.json(facilitator.getSupported()));
  return app;
}

/**
 * Starts the official stack on `devnet`: the `@x402/hono` server of the interop tests and the facilitator's HTTP
 * front, each on an ephemeral port.
 *
 * @example const official = await startOfficialStack(devnet, 50); … await official.close();
 */
export async function startOfficialStack(devnet: EvmDevnet, pollMs: number): Promise<OfficialStack> {
  const facilitator = officialFacilitator(devnet, pollMs);
  const app = officialEvmHonoApp(devnet, inProcessClient(facilitator));
  const server = await serveFetch((request) => app.fetch(request));
  const frontApp = facilitatorHttpApp(facilitator);
  const front = await serveFetch((request) => frontApp.fetch(request));
  return {
    server,
    facilitator: front,
    close: async () => {
      await server.close();
      await front.close();
    },
  };
}

/**
 * The official `@x402/fetch` client paying from `payer` (the devnet token allowed up to `maxAmount`), as one
 * function that throws unless the request was served (200) with a PAYMENT-RESPONSE. Both stacks are paid by it.
 */
export function officialPayer(
  devnet: EvmDevnet,
  payer: 'payer' | 'payer2',
  maxAmount: bigint,
): (url: string) => Promise<void> {
  const pay = wrapFetchWithPayment(
    fetch,
    officialEvmClient(devnet, payer, { maxAmountPerPayment: maxAmount.toString() }),
  );
  return async (url) => {
    const res = await pay(url);
    const body = await res.text();
    if (res.status !== 200 || !res.headers.get('PAYMENT-RESPONSE'))
      throw new Error(`paid request to ${url} failed: ${res.status} ${body.slice(0, 300)}`);
  };
}
