import { Hono } from 'hono';
import { publicActions, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { x402Client } from '@x402/fetch';
import { x402Facilitator } from '@x402/core/facilitator';
import { x402ResourceServer, type FacilitatorClient } from '@x402/core/server';
import { paymentMiddleware } from '@x402/hono';
import { toFacilitatorEvmSigner, type FacilitatorEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from '@x402/evm/exact/facilitator';
import { isCaipNetwork } from '../../../src/index';
import type { EvmDevnet, EvmDevnetAccountName } from '../../../fixtures/evm/index';

/**
 * The official x402 SDK wired to our EVM devnet: a client (`x402Client` + the exact EVM client scheme)
 * that may pay the devnet token, an in-process facilitator (the official exact EVM facilitator scheme
 * with a viem wallet signer), and an `@x402/hono` app behind the official payment middleware.
 */

/** Spend controls of the official client: our devnet token is no default asset, so it must be allowed, with an atomic cap. */
export type OfficialSpendControls = { maxAmountPerPayment?: string } | 'none';

/**
 * An official x402 client paying from a devnet account. Without `spend` (the SDK's own default) it refuses
 * any asset outside its default-asset table, which is what the tests prove before configuring it.
 */
export function officialEvmClient(
  devnet: EvmDevnet,
  name: EvmDevnetAccountName,
  spend?: OfficialSpendControls,
): x402Client {
  const account = privateKeyToAccount(devnet.accounts[name].privateKey as Hex);
  const client = new x402Client().register(devnet.network, new ExactEvmClientScheme(account));
  if (spend !== undefined && spend !== 'none') {
    client.setSpendControls({ allowedAssets: [{ network: devnet.network, asset: devnet.token.address, ...spend }] });
  }
  return client;
}

/** The official facilitator signer (`toFacilitatorEvmSigner`) over a viem wallet of the devnet's `facilitator` account. */
export function officialFacilitatorSigner(devnet: EvmDevnet): FacilitatorEvmSigner {
  const wallet = devnet.walletClientFor('facilitator').extend(publicActions);
  return toFacilitatorEvmSigner({
    address: wallet.account.address,
    readContract: (args) => wallet.readContract(args as Parameters<typeof wallet.readContract>[0]),
    verifyTypedData: (args) => wallet.verifyTypedData(args as Parameters<typeof wallet.verifyTypedData>[0]),
    writeContract: (args) => wallet.writeContract(args as Parameters<typeof wallet.writeContract>[0]),
    sendTransaction: (args) => wallet.sendTransaction(args),
    waitForTransactionReceipt: (args) => wallet.waitForTransactionReceipt({ ...args, pollingInterval: 20 }),
    getCode: (args) => wallet.getCode(args),
  });
}

/** The official exact-EVM facilitator in-process, settling from the devnet's `facilitator` account. */
export function officialEvmFacilitator(devnet: EvmDevnet): { facilitator: x402Facilitator; client: FacilitatorClient } {
  const signer = officialFacilitatorSigner(devnet);
  const facilitator = new x402Facilitator().register(devnet.network, new ExactEvmFacilitatorScheme(signer));
  const client: FacilitatorClient = {
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
  return { facilitator, client };
}

/** Price of the official server's routes, atomic units of the devnet token. */
export const OFFICIAL_PRICE = 20_000n;

/**
 * A Hono app behind `@x402/hono`'s `paymentMiddleware` with the official exact EVM server scheme, pricing
 * `GET /weather` in the devnet token (EIP-712 domain "Rails USD" / "2" in `extra`) payable to `payee`.
 */
export function officialEvmHonoApp(devnet: EvmDevnet, facilitator: FacilitatorClient): Hono {
  const server = new x402ResourceServer(facilitator).register(devnet.network, new ExactEvmServerScheme());
  const app = new Hono();
  app.use(
    paymentMiddleware(
      {
        'GET /weather': {
          accepts: {
            scheme: 'exact',
            network: devnet.network,
            payTo: devnet.accounts.payee.address,
            price: {
              amount: OFFICIAL_PRICE.toString(),
              asset: devnet.token.address,
              extra: { name: devnet.token.name, version: devnet.token.version },
            },
            maxTimeoutSeconds: 120,
          },
          description: 'Weather report',
          mimeType: 'application/json',
        },
      },
      server,
    ),
  );
  app.get('/weather', (c) => c.json({ weather: 'sunny' }));
  app.get('/free', (c) => c.json({ free: true }));
  return app;
}
