/**
 * The EVM rail through the conformance kit on anvil, once per transfer method (EIP-3009 authorization, EIP-2612
 * permit), each on its own devnet started through `x402-rails/devnet`.
 */
import { erc20Abi, getAddress, parseEventLogs, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  evmEip2612Client,
  evmEip2612Server,
  evmEip3009Client,
  evmEip3009Server,
  evmWallet,
  exactTokenAbi,
  permitTypes,
} from '../../adapters/evm/index';
import type { EvmDevnet } from '../../fixtures/evm/index';
import { startDevnets } from '../../fixtures/index';
import type { ClientRail, ServerRail } from '../../src/index';
import { describeRailConformance, type BadPaymentHook, type RailConformanceSetup } from '../../src/testing/index';

type EvmMethod = {
  name: string;
  server: (p: Parameters<typeof evmEip3009Server>[0]) => ServerRail;
  client: () => ClientRail;
  /** The rail's reason codes per scenario. */
  reasons: RailConformanceSetup['expectReasons'];
  /** The method's own wrong-payee payment, given another address. */
  payToOther?: (other: Address) => BadPaymentHook;
  /** The method's own wrong-asset payment. */
  payOtherAsset?: (devnet: EvmDevnet) => BadPaymentHook;
  /** The protocols the method speaks besides x402. */
  protocols?: RailConformanceSetup['protocols'];
};

/** Where each bad payment must fail, in the rail's own codes (adapters/evm/serverCommon.ts, eip3009Server.ts, eip2612Server.ts). */
const common = {
  wrongAmount: 'amount_mismatch',
  wrongPayee: 'payee_mismatch',
  // The signature covers the chain id and the token (EIP-712 domain), so a payment signed for another chain or token
  // recovers another address.
  wrongNetwork: 'invalid_signature',
  wrongAsset: 'invalid_signature',
  expired: 'expired',
  tamperedPayload: 'invalid_signature',
  malformedPayment: 'invalid_payload',
  crossRouteReplay: ['challenge_invalid', 'payment_already_used'],
} as const;

const methods: EvmMethod[] = [
  {
    name: 'EIP-3009 transferWithAuthorization',
    server: evmEip3009Server,
    client: evmEip3009Client,
    reasons: common,
    // MPP `evm`/`charge`: the credential echoes the Payment challenge, whose id binds the route (so a credential
    // replayed on the other route echoes a challenge that route never made), and its nonce is keccak256(id ‖ realm)
    // (so under the other route's fresh challenge it answers another challenge).
    protocols: {
      mpp: {
        expectReasons: {
          expired: 'challenge_expired',
          malformedPayment: 'invalid_payload',
          crossRouteReplay: ['challenge_invalid', 'challenge_mismatch'],
        },
      },
    },
  },
  {
    name: 'EIP-2612 permit',
    server: evmEip2612Server,
    client: evmEip2612Client,
    // A permit names a spender, not the payee (the server pulls to payTo): the wrong payee is a permit to another
    // spender.
    reasons: { ...common, wrongPayee: 'spender_mismatch' },
    payToOther: (spender) => (offer, kit) => kit.pay({ ...offer, extra: { ...offer.extra, spender } }),
    // The client would read the other token's permit nonce, which may equal one already spent on ours (the paywall
    // then refuses it as used before the rail sees the domain): sign for the other token at our current nonce.
    payOtherAsset: (devnet) => async (offer) => {
      const owner = privateKeyToAccount(devnet.accounts.payer.privateKey as Hex);
      const nonce = await devnet.publicClient.readContract({
        address: devnet.token.address,
        abi: exactTokenAbi,
        functionName: 'nonces',
        args: [owner.address],
      });
      const { otherToken } = devnet;
      const permit = {
        owner: owner.address,
        spender: getAddress(String(offer.extra.spender)),
        value: BigInt(offer.amount),
        nonce,
        deadline: BigInt(Math.floor(Date.now() / 1000) + offer.maxTimeoutSeconds),
      };
      const domain = {
        name: otherToken.name,
        version: otherToken.version,
        chainId: devnet.chainId,
        verifyingContract: otherToken.address,
      };
      const signature = await owner.signTypedData({
        domain,
        types: permitTypes,
        primaryType: 'Permit',
        message: permit,
      });
      return {
        signature,
        permit: {
          ...permit,
          value: permit.value.toString(),
          nonce: nonce.toString(),
          deadline: permit.deadline.toString(),
        },
      };
    },
  },
];

for (const method of methods) {
  await describeRailConformance(`EVM ${method.name} on anvil`, async (): Promise<RailConformanceSetup> => {
    const devnets = await startDevnets({ evm: true, solana: false, lightning: false });
    const devnet = devnets.evm;
    const { payer, payer2, payee } = devnet.accounts;
    const wallet = (key: string) => evmWallet(privateKeyToAccount(key as Hex), { publicClient: devnet.publicClient });
    const server = method.server({
      publicClient: devnet.publicClient,
      walletClient: devnet.walletClientFor('facilitator'),
      confirmTimeoutMs: 10_000,
      pollingIntervalMs: 5,
      chainId: devnet.chainId,
      token: devnet.token,
      payTo: payee.address,
    });
    return {
      server,
      client: method.client(),
      wallet: wallet(payer.privateKey),
      secondWallet: wallet(payer2.privateKey),
      offer: { amount: 10_000n },
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
        const transfers = parseEventLogs({ abi: erc20Abi, logs: tx.logs, eventName: 'Transfer' }).filter(
          (l) => getAddress(l.address) === getAddress(receipt.asset),
        );
        const paid = transfers.some(
          (l) =>
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
      hooks: {
        ...(method.payToOther ? { payToOther: method.payToOther(devnet.accounts.poor.address) } : {}),
        ...(method.payOtherAsset ? { payOtherAsset: method.payOtherAsset(devnet) } : {}),
      },
      expectReasons: method.reasons,
      ...(method.protocols ? { protocols: method.protocols } : {}),
      teardown: () => devnets.stop(),
    };
  });
}
