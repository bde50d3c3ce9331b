import { createKeyPairSignerFromBytes } from '@solana/kit';
import { x402Client } from '@x402/fetch';
import { x402Facilitator } from '@x402/core/facilitator';
import { x402ResourceServer, type FacilitatorClient } from '@x402/core/server';
import { paymentMiddleware } from '@x402/hono';
import { toFacilitatorSvmSigner } from '@x402/svm';
import { ExactSvmScheme as ExactSvmClientScheme } from '@x402/svm/exact/client';
import { ExactSvmScheme as ExactSvmServerScheme } from '@x402/svm/exact/server';
import { ExactSvmScheme as ExactSvmFacilitatorScheme } from '@x402/svm/exact/facilitator';
import { Hono } from 'hono';
import { isCaipNetwork } from '../../../src/index';
import type { Keypair } from '@solana/web3.js';
import type { SolanaDevnet } from '../../../fixtures/solana/index';

/**
 * The official SVM SDK's RPC client only knows the three public clusters by CAIP-2 id, so the interop
 * devnet reports Solana devnet's genesis hash: its network is then `solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1`
 * and the SDK talks to our litesvm front through its `rpcUrl` option.
 */
export const SOLANA_DEVNET_REAL_GENESIS_HASH = 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG';

/** An official x402 client paying with the exact SVM scheme from `keypair`, allowed to pay `devnet.mint` up to `maxAmountPerPayment`. */
export async function officialSvmClient(
  devnet: SolanaDevnet,
  keypair: Keypair,
  maxAmountPerPayment?: string,
): Promise<x402Client> {
  const signer = await createKeyPairSignerFromBytes(keypair.secretKey);
  const client = new x402Client().register(devnet.network, new ExactSvmClientScheme(signer, { rpcUrl: devnet.rpcUrl }));
  if (maxAmountPerPayment !== undefined) {
    client.setSpendControls({
      allowedAssets: [{ network: devnet.network, asset: devnet.mint.toBase58(), maxAmountPerPayment }],
    });
  }
  return client;
}

/** The official exact-SVM facilitator in-process, with the devnet's `feePayer` keypair as its signer and our front as its RPC. */
export async function officialSvmFacilitator(devnet: SolanaDevnet): Promise<FacilitatorClient> {
  const signer = toFacilitatorSvmSigner(await createKeyPairSignerFromBytes(devnet.keypairs.feePayer.secretKey), {
    defaultRpcUrl: devnet.rpcUrl,
  });
  const facilitator = new x402Facilitator().register(devnet.network, new ExactSvmFacilitatorScheme(signer));
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

/** Price of the official SVM server's route, atomic units of `devnet.mint`. */
export const OFFICIAL_SOL_PRICE = 25_000n;

/** A Hono app behind `@x402/hono` with the official exact SVM server scheme, pricing `GET /sol-weather` in `devnet.mint`, paid to `payee`. */
export function officialSvmHonoApp(devnet: SolanaDevnet, facilitator: FacilitatorClient): Hono {
  const server = new x402ResourceServer(facilitator).register(devnet.network, new ExactSvmServerScheme());
  const app = new Hono();
  app.use(
    paymentMiddleware(
      {
        'GET /sol-weather': {
          accepts: {
            scheme: 'exact',
            network: devnet.network,
            payTo: devnet.keypairs.payee.publicKey.toBase58(),
            price: { amount: OFFICIAL_SOL_PRICE.toString(), asset: devnet.mint.toBase58() },
            maxTimeoutSeconds: 60,
          },
          description: 'Weather, paid on Solana',
        },
      },
      server,
    ),
  );
  app.get('/sol-weather', (c) => c.json({ weather: 'windy' }));
  return app;
}
