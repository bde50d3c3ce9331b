import { createKeyPairSignerFromBytes } from '@solana/kit';
import { x402Client } from '@x402/fetch';
import { ExactSvmScheme as ExactSvmClientScheme } from '@x402/svm/exact/client';
import type { Keypair } from '@solana/web3.js';
import type { SolanaDevnet } from '../../../fixtures/solana/index';

/**
 * The official SVM SDK's RPC client only knows the three public clusters by CAIP-2 id, so the interop
 * devnet reports Solana devnet's genesis hash: its network is then `solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1`
 * and the SDK talks to our litesvm front through its `rpcUrl` option.
 */
export const SOLANA_DEVNET_REAL_GENESIS_HASH = 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG';

/** An official x402 client paying with the exact SVM scheme from `keypair`, allowed to pay `devnet.mint` up to `maxAmountPerPayment`. */
export async function officialSvmClient(devnet: SolanaDevnet, keypair: Keypair, maxAmountPerPayment?: string): Promise<x402Client> {
  const signer = await createKeyPairSignerFromBytes(keypair.secretKey);
  const client = new x402Client().register(devnet.network, new ExactSvmClientScheme(signer, { rpcUrl: devnet.rpcUrl }));
  if (maxAmountPerPayment !== undefined) {
    client.setSpendControls({ allowedAssets: [{ network: devnet.network, asset: devnet.mint.toBase58(), maxAmountPerPayment }] });
  }
  return client;
}
