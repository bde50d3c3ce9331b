import { encodeFunctionData, getAddress } from 'viem';
import {
  defineServerRail,
  evmNetwork,
  type FindSettlementRail,
  type PayloadExtensionsRail,
  type PriceOffer,
  type SettleResult,
  type VerifyResult,
} from '../../src/index';
import { read, revertName, submitAndWait, submitQueueFor, type ContractCall } from './chain';
import { Permit2PayloadSchema, type Permit2Payload } from './payloads';
import { PERMIT2_ADDRESS, X402_EXACT_PERMIT2_PROXY_ADDRESS, x402ExactPermit2ProxyAbi } from './permit2Abi';
import { exactTokenAbi } from './abi';
import {
  EIP2612_GAS_SPONSORING,
  checkPermit2Offline,
  checkPermit2Signer,
  checkPermit2State,
  declareEip2612GasSponsoring,
  eip2612PermitArgument,
  findPermit2Settlement,
  permit2PaymentId,
  permitArgument,
  readPermit2State,
  refused,
} from './permit2Common';
import { sameAddress, transferMethodOf } from './requirements';
import { baseRequirements, parsePayload, type EvmServerParameters } from './serverCommon';
import { tokenDomainCheck } from './assertEvmTokenDomain';
import { transferState } from './transferState';

/** Parameters of {@link evmPermit2Server}. */
export type EvmPermit2ServerParameters = EvmServerParameters & {
  /**
   * Accept the `eip2612GasSponsoring` extension (default true): a payer who has not approved Permit2 signs an
   * EIP-2612 permit to Permit2 and the settlement submits it (`settleWithPermit`), so the payer needs no gas. The
   * 402 declares the extension when on.
   */
  gasSponsoring?: boolean;
};

const ID = 'evm-permit2';

/**
 * Server rail for x402 `exact` on EVM with `extra.assetTransferMethod = "permit2"` (x402 standard, wire-identical to
 * the official SDK): the payer signs a Permit2 `PermitWitnessTransferFrom` whose spender is the canonical
 * `x402ExactPermit2Proxy` and whose witness binds the payee (`to`) and `validAfter`; settlement calls the proxy,
 * which moves exactly the permitted amount to `to`, whoever submits it. With `eip2612GasSponsoring` the payer's
 * one-time approval of Permit2 comes as a signed EIP-2612 permit the settlement submits first.
 *
 * verify: payee, amount, token, spender, deadline (with time to serve and settle), `validAfter`, the Permit2
 * signature, then on chain the Permit2 nonce unused, balance, allowance or a valid sponsoring permit, and a
 * simulation of the settlement. settle: idempotent and crash-safe — a nonce already used by an earlier settlement
 * of this payment is answered with that transaction (`findSettlement`).
 *
 * @example evmPermit2Server({ chainId, publicClient, walletClient, token, payTo })
 */
export function evmPermit2Server(p: EvmPermit2ServerParameters): FindSettlementRail & PayloadExtensionsRail {
  const network = evmNetwork(p.chainId);
  const queue = submitQueueFor(p.walletClient.account.address);
  const sponsoring = p.gasSponsoring !== false;
  const parse = (payload: Record<string, unknown>): Permit2Payload =>
    parsePayload(Permit2PayloadSchema, payload, 'Permit2');
  const domainChecked = tokenDomainCheck({
    publicClient: p.publicClient,
    chainId: p.chainId,
    token: p.token,
    rail: ID,
    enabled: p.checkTokenDomain,
  });
  const offline = (payload: Permit2Payload, req: Parameters<typeof checkPermit2Offline>[1], now: number | null) =>
    checkPermit2Offline(payload, req, {
      network,
      chainId: p.chainId,
      token: p.token,
      spender: X402_EXACT_PERMIT2_PROXY_ADDRESS,
      now,
      ...(p.settleWindowSeconds !== undefined ? { settleWindowSeconds: p.settleWindowSeconds } : {}),
    });

  /** The proxy call settling `payload`: with the sponsoring permit when Permit2's allowance is short. */
  const settlementCall = (payload: Permit2Payload, allowanceShort: boolean) => {
    const a = payload.permit2Authorization;
    const args = [
      permitArgument(a),
      a.from,
      { to: a.witness.to, validAfter: BigInt(a.witness.validAfter) },
      payload.signature,
    ] as const;
    const info = payload.extensions?.eip2612GasSponsoring?.info;
    if (allowanceShort && info && sponsoring)
      return { functionName: 'settleWithPermit' as const, args: [eip2612PermitArgument(info), ...args] as const };
    return { functionName: 'settle' as const, args };
  };
  const simulate = async (payload: Permit2Payload, allowanceShort: boolean): Promise<ContractCall> => {
    const call = settlementCall(payload, allowanceShort);
    const base = {
      address: X402_EXACT_PERMIT2_PROXY_ADDRESS,
      abi: x402ExactPermit2ProxyAbi,
      account: p.walletClient.account,
    } as const;
    if (call.functionName === 'settleWithPermit') {
      await p.publicClient.simulateContract({ ...base, functionName: 'settleWithPermit', args: call.args });
      return {
        to: X402_EXACT_PERMIT2_PROXY_ADDRESS,
        data: encodeFunctionData({ abi: x402ExactPermit2ProxyAbi, functionName: 'settleWithPermit', args: call.args }),
      };
    }
    await p.publicClient.simulateContract({ ...base, functionName: 'settle', args: call.args });
    return {
      to: X402_EXACT_PERMIT2_PROXY_ADDRESS,
      data: encodeFunctionData({ abi: x402ExactPermit2ProxyAbi, functionName: 'settle', args: call.args }),
    };
  };

  return defineServerRail({
    id: ID,
    payloadExtensionKeys: sponsoring ? [EIP2612_GAS_SPONSORING] : [],
    declareExtensions: () => (sponsoring ? declareEip2612GasSponsoring() : {}),
    supports: (req) =>
      req.scheme === 'exact' &&
      req.network === network &&
      sameAddress(req.asset, p.token.address) &&
      transferMethodOf(req) === 'permit2',
    async quote(offer: PriceOffer) {
      return baseRequirements(network, p.token, p.payTo, offer, { assetTransferMethod: 'permit2' });
    },
    paymentId(payload) {
      return permit2PaymentId(p.chainId, parse(payload).permit2Authorization);
    },
    async verify(raw, req, ctx): Promise<VerifyResult> {
      const payload = parse(raw);
      const a = payload.permit2Authorization;
      await domainChecked();
      const refusal = await checkPermit2Signer(ID, p, payload, p.chainId, await offline(payload, req, ctx.now));
      if (refusal) return refused(refusal, a.from);
      const withPermit = sponsoring && payload.extensions?.eip2612GasSponsoring?.info !== undefined;
      const state = await readPermit2State(ID, p, p.token.address, a, withPermit);
      const stateRefusal = await checkPermit2State(payload, state, {
        chainId: p.chainId,
        token: p.token,
        now: ctx.now,
        sponsoring,
      });
      if (stateRefusal) return refused(stateRefusal, a.from);
      const simulated = await simulationRefusal(() => simulate(payload, state.allowance < BigInt(a.permitted.amount)));
      if (simulated) return refused(simulated, a.from);
      return { isValid: true, payer: getAddress(a.from), amount: a.permitted.amount };
    },
    async findSettlement(raw, req) {
      const payload = parse(raw);
      const a = payload.permit2Authorization;
      // Only a payment signed for this offer may claim a transfer found on chain (its validity is not checked: a
      // payment that landed before its deadline is paid).
      if (await offline(payload, req, null)) return undefined;
      const earlier = await findPermit2Settlement(
        ID,
        p,
        p.token.address,
        X402_EXACT_PERMIT2_PROXY_ADDRESS,
        a,
        req.maxTimeoutSeconds,
      );
      return earlier && earlier !== 'used'
        ? { reference: earlier, payer: getAddress(a.from), amount: a.permitted.amount }
        : undefined;
    },
    async settle(raw, req, ctx): Promise<SettleResult> {
      const payload = parse(raw);
      const a = payload.permit2Authorization;
      await domainChecked();
      const settled = (reference: string): SettleResult => ({
        status: 'settled',
        reference,
        payer: getAddress(a.from),
        amount: a.permitted.amount,
      });
      if (ctx.reference !== undefined) {
        const state = await transferState(ID, p, ctx.reference, {
          token: p.token.address,
          from: a.from,
          to: a.witness.to,
          value: BigInt(a.permitted.amount),
        });
        if (state === 'landed') return settled(ctx.reference);
        if (state === 'in_flight')
          return {
            status: 'pending',
            reference: ctx.reference,
            message: `Settlement ${ctx.reference} is not mined yet.`,
          };
      }
      const earlier = await findPermit2Settlement(
        ID,
        p,
        p.token.address,
        X402_EXACT_PERMIT2_PROXY_ADDRESS,
        a,
        req.maxTimeoutSeconds,
      );
      if (earlier === 'used')
        return {
          status: 'failed',
          reason: 'nonce_used',
          message: 'The Permit2 nonce was used or invalidated elsewhere.',
        };
      if (earlier) return settled(earlier);
      const allowance = await read(ID, 'the Permit2 allowance', () =>
        p.publicClient.readContract({
          address: p.token.address,
          abi: exactTokenAbi,
          functionName: 'allowance',
          args: [a.from, PERMIT2_ADDRESS],
        }),
      );
      const outcome = await submitAndWait(
        ID,
        p,
        queue,
        () => simulate(payload, allowance < BigInt(a.permitted.amount)),
        ctx.onBroadcast,
      );
      if (outcome.status !== 'mined') return outcome;
      return settled(outcome.hash);
    },
  });
}

/**
 * Runs a settlement simulation: undefined when it would succeed, the refusal when the proxy, Permit2 or the token
 * would revert; RPC failures propagate (503).
 */
export async function simulationRefusal(
  run: () => Promise<unknown>,
): Promise<{ reason: string; message: string } | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    const name = revertName(error);
    if (name === undefined) throw error;
    return {
      reason: 'settlement_simulation_failed',
      message: `The settlement would revert (${name}); nothing was paid.`,
    };
  }
}
