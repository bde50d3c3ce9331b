/**
 * The x402 Permit2 family through the conformance kit on anvil (issue 14), each on its own devnet: `exact` with
 * `assetTransferMethod: "permit2"` for payers who approved Permit2 once, the same with `eip2612GasSponsoring` for
 * payers who never did (their approval is a signed EIP-2612 permit the settlement submits), and `upto`, where the
 * kit's route reports a charge below the maximum and the kit checks exactly that moved.
 */
import { erc20Abi, getAddress, maxUint256, parseEventLogs, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  PERMIT2_ADDRESS,
  evmPermit2Client,
  evmPermit2Server,
  evmUptoClient,
  evmUptoServer,
  evmWallet,
} from '../../adapters/evm/index';
import { railsTokenAbi, type EvmDevnet } from '../../fixtures/evm/index';
import { startDevnets } from '../../fixtures/index';
import type { ClientRail, ServerRail } from '../../src/index';
import { describeRailConformance, type RailConformanceSetup } from '../../src/testing/index';

type Permit2Rail = {
  name: string;
  server: (p: Parameters<typeof evmPermit2Server>[0]) => ServerRail;
  client: () => ClientRail;
  /** Whether the payers approve Permit2 (for both devnet tokens) before the kit runs. */
  approve: boolean;
  charge?: bigint;
};

/** Where each bad payment must fail, in the rails' own codes (adapters/evm/permit2Common.ts, serverCommon.ts). */
const reasons = {
  wrongAmount: 'amount_mismatch',
  wrongPayee: 'payee_mismatch',
  // The Permit2 signature covers the chain id (Permit2's EIP-712 domain): signed for another chain, it recovers another address.
  wrongNetwork: 'invalid_signature',
  wrongAsset: 'asset_mismatch',
  expired: 'expired',
  tamperedPayload: 'invalid_signature',
  malformedPayment: 'invalid_payload',
  crossRouteReplay: ['challenge_invalid', 'payment_already_used'],
} as const;

const rails: Permit2Rail[] = [
  {
    name: 'exact + Permit2 (approved payers)',
    server: (p) => evmPermit2Server({ ...p, gasSponsoring: false }),
    client: evmPermit2Client,
    approve: true,
  },
  {
    name: 'exact + Permit2 + eip2612GasSponsoring (payers without approval)',
    server: evmPermit2Server,
    client: evmPermit2Client,
    approve: false,
  },
  {
    name: 'upto (charge 6,000 of 10,000)',
    server: evmUptoServer,
    client: evmUptoClient,
    approve: true,
    charge: 6_000n,
  },
];

async function approvePermit2(devnet: EvmDevnet): Promise<void> {
  for (const name of ['payer', 'payer2'] as const) {
    for (const token of [devnet.token.address, devnet.otherToken.address]) {
      const hash = await devnet.walletClientFor(name).writeContract({
        address: token,
        abi: railsTokenAbi,
        functionName: 'approve',
        args: [PERMIT2_ADDRESS, maxUint256],
      });
      await devnet.publicClient.waitForTransactionReceipt({ hash });
    }
  }
}

for (const rail of rails) {
  await describeRailConformance(`EVM ${rail.name} on anvil`, async (): Promise<RailConformanceSetup> => {
    const devnets = await startDevnets({ evm: true, solana: false, lightning: false });
    const devnet = devnets.evm;
    if (rail.approve) await approvePermit2(devnet);
    const { payer, payer2, payee } = devnet.accounts;
    const wallet = (key: string) => evmWallet(privateKeyToAccount(key as Hex), { publicClient: devnet.publicClient });
    return {
      server: rail.server({
        publicClient: devnet.publicClient,
        walletClient: devnet.walletClientFor('facilitator'),
        confirmTimeoutMs: 10_000,
        pollingIntervalMs: 5,
        chainId: devnet.chainId,
        token: devnet.token,
        payTo: payee.address,
      }),
      client: rail.client(),
      wallet: wallet(payer.privateKey),
      secondWallet: wallet(payer2.privateKey),
      offer: { amount: 10_000n },
      ...(rail.charge !== undefined ? { charge: rail.charge } : {}),
      balances: async () => ({
        payer: await devnet.balanceOf(payer.address),
        payee: await devnet.balanceOf(payee.address),
      }),
      payer: payer.address,
      payee: payee.address,
      sameAddress: (a, b) => a.toLowerCase() === b.toLowerCase(),
      async checkSettlement(receipt) {
        const tx = await devnet.publicClient.getTransactionReceipt({ hash: receipt.reference as Hex });
        if (tx.status !== 'success') throw new Error(`Settlement ${receipt.reference} reverted.`);
        const paid = parseEventLogs({ abi: erc20Abi, logs: tx.logs, eventName: 'Transfer' }).some(
          (l) =>
            getAddress(l.address) === getAddress(receipt.asset) &&
            getAddress(l.args.from) === getAddress(receipt.payer) &&
            getAddress(l.args.to) === getAddress(receipt.payee) &&
            l.args.value === BigInt(receipt.amount),
        );
        if (!paid)
          throw new Error(
            `Settlement ${receipt.reference} carries no Transfer of ${receipt.amount} from the payer to the payee.`,
          );
      },
      variants: { payTo: devnet.accounts.poor.address, asset: devnet.otherToken.address },
      expectReasons: reasons,
      teardown: () => devnets.stop(),
    };
  });
}
