/**
 * Connects a test process to the shared devnets of the global setup: viem clients for anvil, a web3.js
 * Connection for the Solana RPC front, ln-service clients for the Lightning nodes, and balance readers on each.
 */
import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { authenticatedLndGrpc, getChannelBalance } from 'ln-service';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { exactTokenAbi } from '../../adapters/evm/abi';
import { base58Decode } from '../../adapters/solana/base58';
import type { DevnetsDescription } from '../../src/cli/describeDevnets';
import { anvilClients } from './evmProcessRail';

/** Handles on the shared devnets from one test process. */
export type SharedDevnets = ReturnType<typeof connectSharedDevnets>;

/** Builds clients for every rail of a {@link DevnetsDescription}. */
export function connectSharedDevnets(d: DevnetsDescription) {
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`The shared devnets have no ${what}.`);
    return value;
  };
  const { publicClient, walletClient } = anvilClients(d.evm.rpcUrl, d.evm.chainId);
  const evmKey = (name: string) => need(d.evm.accounts[name], `EVM account ${name}`).privateKey as Hex;
  const evmAccount = (name: string) => privateKeyToAccount(evmKey(name));
  const connection = new Connection(d.solana.rpcUrl, { commitment: 'confirmed' });
  const mint = new PublicKey(d.solana.mint);
  const keypair = (name: string) =>
    Keypair.fromSecretKey(base58Decode(need(d.solana.keypairs[name], `Solana keypair ${name}`).secretKey));
  const lnds = new Map<string, ReturnType<typeof authenticatedLndGrpc>['lnd']>();
  const lnd = (name: string) => {
    let client = lnds.get(name);
    if (!client) {
      const node = need(d.lightning.nodes[name], `Lightning node ${name}`);
      client = authenticatedLndGrpc({ socket: node.socket, cert: node.cert, macaroon: node.macaroon }).lnd;
      lnds.set(name, client);
    }
    return client;
  };
  return {
    description: d,
    evm: {
      publicClient,
      account: evmAccount,
      walletClient: (name: string) => walletClient(evmKey(name)),
      token: { address: d.evm.token.address as Address, name: d.evm.token.name, version: d.evm.token.version },
      balanceOf: (address: Address) =>
        publicClient.readContract({
          address: d.evm.token.address as Address,
          abi: exactTokenAbi,
          functionName: 'balanceOf',
          args: [address],
        }),
    },
    solana: {
      connection,
      mint,
      keypair,
      tokenBalance: async (owner: PublicKey) =>
        BigInt(
          (await connection.getTokenAccountBalance(getAssociatedTokenAddressSync(mint, owner, true))).value.amount,
        ),
    },
    lightning: {
      lnd,
      channelBalanceMsat: async (name: string) =>
        BigInt((await getChannelBalance({ lnd: lnd(name) })).channel_balance_mtokens ?? '0'),
    },
  };
}
