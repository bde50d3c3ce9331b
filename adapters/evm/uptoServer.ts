import { encodeFunctionData, getAddress, parseEventLogs, type Hash } from 'viem';
import {
  defineServerRail,
  evmNetwork,
  type FindSettlementRail,
  type PayloadExtensionsRail,
  type PriceOffer,
  type SettleResult,
  type VerifyResult,
} from '../../src/index';
import { exactTokenAbi } from './abi';
import { read, submitAndWait, submitQueueFor, type ContractCall } from './chain';
import { UptoPermit2PayloadSchema, type UptoPermit2Payload } from './payloads';
import { PERMIT2_ADDRESS, X402_UPTO_PERMIT2_PROXY_ADDRESS, x402UptoPermit2ProxyAbi } from './permit2Abi';
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
import { simulationRefusal, type EvmPermit2ServerParameters } from './permit2Server';
import { sameAddress } from './requirements';
import { baseRequirements, parsePayload } from './serverCommon';
import { tokenDomainCheck } from './assertEvmTokenDomain';

/** Parameters of {@link evmUptoServer}. */
export type EvmUptoServerParameters = EvmPermit2ServerParameters;

const ID = 'evm-upto';

/** The x402 error of a charge above the authorized maximum (as the official facilitator names it). */
export const UPTO_SETTLEMENT_EXCEEDS_AMOUNT = 'invalid_upto_evm_payload_settlement_exceeds_amount';

/**
 * Server rail for the x402 `upto` scheme on EVM (x402 standard, wire-identical to the official SDK): the offer's
 * `amount` is a maximum; the payer signs a Permit2 witness transfer of at most that to `payTo`, settleable only
 * by this rail's gas account (`extra.facilitatorAddress`, bound in the witness) through the canonical
 * `x402UptoPermit2Proxy`. After serving, the route reports what the request used (`reportCharge(request, amount)`);
 * settle moves that amount (0: no transaction; without a report: the maximum) and the receipt states both the
 * charge (`amount`) and the maximum (`maxAmount`). A charge above the maximum fails with
 * `invalid_upto_evm_payload_settlement_exceeds_amount` and moves nothing. Verification as `evmPermit2Server`, plus
 * the facilitator binding, with the simulation at the maximum. `eip2612GasSponsoring` as there.
 *
 * @example evmUptoServer({ chainId, publicClient, walletClient, token, payTo })
 */
export function evmUptoServer(p: EvmUptoServerParameters): FindSettlementRail & PayloadExtensionsRail {
  const network = evmNetwork(p.chainId);
  const facilitator = getAddress(p.walletClient.account.address);
  const queue = submitQueueFor(facilitator);
  const sponsoring = p.gasSponsoring !== false;
  const parse = (payload: Record<string, unknown>): UptoPermit2Payload =>
    parsePayload(UptoPermit2PayloadSchema, payload, 'upto Permit2');
  const domainChecked = tokenDomainCheck({
    publicClient: p.publicClient,
    chainId: p.chainId,
    token: p.token,
    rail: ID,
    enabled: p.checkTokenDomain,
  });
  const offline = async (
    payload: UptoPermit2Payload,
    req: Parameters<typeof checkPermit2Offline>[1],
    now: number | null,
  ) => {
    if (!sameAddress(payload.permit2Authorization.witness.facilitator, facilitator)) {
      return {
        reason: 'upto_facilitator_mismatch',
        message: `The permit names facilitator ${payload.permit2Authorization.witness.facilitator}; this server settles with ${facilitator}.`,
      };
    }
    return checkPermit2Offline(payload, req, {
      network,
      chainId: p.chainId,
      token: p.token,
      spender: X402_UPTO_PERMIT2_PROXY_ADDRESS,
      now,
      ...(p.settleWindowSeconds !== undefined ? { settleWindowSeconds: p.settleWindowSeconds } : {}),
    });
  };
  /** Simulates the proxy call settling `amount` (with the sponsoring permit when the allowance is short) and encodes it. */
  const prepare = async (
    payload: UptoPermit2Payload,
    amount: bigint,
    allowanceShort: boolean,
  ): Promise<ContractCall> => {
    const a = payload.permit2Authorization;
    const args = [
      permitArgument(a),
      amount,
      a.from,
      { to: a.witness.to, facilitator: a.witness.facilitator, validAfter: BigInt(a.witness.validAfter) },
      payload.signature,
    ] as const;
    const info = payload.extensions?.eip2612GasSponsoring?.info;
    const base = {
      address: X402_UPTO_PERMIT2_PROXY_ADDRESS,
      abi: x402UptoPermit2ProxyAbi,
      account: p.walletClient.account,
    } as const;
    if (allowanceShort && info && sponsoring) {
      const withPermit = [eip2612PermitArgument(info), ...args] as const;
      await p.publicClient.simulateContract({ ...base, functionName: 'settleWithPermit', args: withPermit });
      return {
        to: X402_UPTO_PERMIT2_PROXY_ADDRESS,
        data: encodeFunctionData({ abi: x402UptoPermit2ProxyAbi, functionName: 'settleWithPermit', args: withPermit }),
      };
    }
    await p.publicClient.simulateContract({ ...base, functionName: 'settle', args });
    return {
      to: X402_UPTO_PERMIT2_PROXY_ADDRESS,
      data: encodeFunctionData({ abi: x402UptoPermit2ProxyAbi, functionName: 'settle', args }),
    };
  };
  /** What an earlier settlement of this payment moved (the transfer in its transaction). */
  const movedBy = async (hash: Hash, a: UptoPermit2Payload['permit2Authorization']): Promise<string | undefined> => {
    const receipt = await read(ID, 'a settlement receipt', () => p.publicClient.getTransactionReceipt({ hash }));
    const log = parseEventLogs({ abi: exactTokenAbi, eventName: 'Transfer', logs: receipt.logs }).find(
      (l) =>
        sameAddress(l.address, p.token.address) &&
        sameAddress(l.args.from, a.from) &&
        sameAddress(l.args.to, a.witness.to),
    );
    return log?.args.value.toString();
  };

  return defineServerRail({
    id: ID,
    payloadExtensionKeys: sponsoring ? [EIP2612_GAS_SPONSORING] : [],
    declareExtensions: () => (sponsoring ? declareEip2612GasSponsoring() : {}),
    supports: (req) => req.scheme === 'upto' && req.network === network && sameAddress(req.asset, p.token.address),
    async quote(offer: PriceOffer) {
      return {
        ...baseRequirements(network, p.token, p.payTo, offer, {
          assetTransferMethod: 'permit2',
          facilitatorAddress: facilitator,
        }),
        scheme: 'upto',
      };
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
      const state = await readPermit2State(
        ID,
        p,
        p.token.address,
        a,
        sponsoring && payload.extensions?.eip2612GasSponsoring?.info !== undefined,
      );
      const stateRefusal = await checkPermit2State(payload, state, {
        chainId: p.chainId,
        token: p.token,
        now: ctx.now,
        sponsoring,
      });
      if (stateRefusal) return refused(stateRefusal, a.from);
      const max = BigInt(a.permitted.amount);
      const simulated = await simulationRefusal(() => prepare(payload, max, state.allowance < max));
      if (simulated) return refused(simulated, a.from);
      return { isValid: true, payer: getAddress(a.from), amount: a.permitted.amount };
    },
    async findSettlement(raw, req) {
      const payload = parse(raw);
      const a = payload.permit2Authorization;
      if (await offline(payload, req, null)) return undefined;
      const earlier = await findPermit2Settlement(
        ID,
        p,
        p.token.address,
        X402_UPTO_PERMIT2_PROXY_ADDRESS,
        a,
        req.maxTimeoutSeconds,
      );
      if (!earlier || earlier === 'used') return undefined;
      return {
        reference: earlier,
        payer: getAddress(a.from),
        amount: (await movedBy(earlier, a)) ?? a.permitted.amount,
      };
    },
    async settle(raw, req, ctx): Promise<SettleResult> {
      const payload = parse(raw);
      const a = payload.permit2Authorization;
      await domainChecked();
      const max = BigInt(a.permitted.amount);
      const charge = ctx.charge !== undefined ? BigInt(ctx.charge) : max;
      const payer = getAddress(a.from);
      if (charge > max)
        return {
          status: 'failed',
          reason: UPTO_SETTLEMENT_EXCEEDS_AMOUNT,
          message: `The route charged ${charge}, more than the ${max} the payer authorized; nothing was paid.`,
        };
      const earlier = await findPermit2Settlement(
        ID,
        p,
        p.token.address,
        X402_UPTO_PERMIT2_PROXY_ADDRESS,
        a,
        req.maxTimeoutSeconds,
      );
      if (earlier === 'used')
        return {
          status: 'failed',
          reason: 'nonce_used',
          message: 'The Permit2 nonce was used or invalidated elsewhere.',
        };
      if (earlier)
        return {
          status: 'settled',
          reference: earlier,
          payer,
          amount: (await movedBy(earlier, a)) ?? charge.toString(),
        };
      if (ctx.reference !== undefined) {
        const pending = await read(ID, 'the settlement on record', () =>
          p.publicClient.getTransaction({ hash: ctx.reference as Hash }).then(
            (tx) => tx.blockNumber === null,
            () => false,
          ),
        );
        if (pending)
          return {
            status: 'pending',
            reference: ctx.reference,
            message: `Settlement ${ctx.reference} is not mined yet.`,
          };
      }
      // Nothing used: no transaction. The signed permit is never settled later (this payment is recorded settled).
      if (charge === 0n)
        return { status: 'settled', reference: `upto-no-charge:${permit2PaymentId(p.chainId, a)}`, payer, amount: '0' };
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
        () => prepare(payload, charge, allowance < max),
        ctx.onBroadcast,
      );
      if (outcome.status !== 'mined') return outcome;
      return { status: 'settled', reference: outcome.hash, payer, amount: charge.toString() };
    },
  });
}
