import { encodeFunctionData, getAddress, parseEventLogs, parseSignature } from 'viem';
import {
  defineServerRail,
  evmNetwork,
  type PaymentRequirements,
  type PriceOffer,
  type FindSettlementRail,
  type VerifyResult,
  type MppServerRail,
} from '../../src/index';
import { evmMppChargeServer } from './mppCharge';
import { exactTokenAbi, transferWithAuthorizationTypes } from './abi';
import { submitQueueFor, read, submitAndWait } from './chain';
import { Eip3009PayloadSchema, type Eip3009Payload } from './payloads';
import { domainOf, sameAddress, transferMethodOf } from './requirements';
import {
  baseRequirements,
  checkCommon,
  parsePayload,
  requiredValiditySeconds,
  type EvmServerParameters,
  type EvmTokenConfig,
} from './serverCommon';
import { typedDataSignedBy } from './recoverTypedDataSigner';
import { tokenDomainCheck } from './assertEvmTokenDomain';
import { contractPayerRefusal } from './contractPayerRefusal';
import { createEip3009Batcher, type Eip3009BatchParameters } from './eip3009Batcher';

/** Parameters of {@link evmEip3009Server}. */
export type EvmEip3009ServerParameters = EvmServerParameters & {
  /**
   * Batched settlement (opt-in): concurrent settlements within `windowMs` (or `maxSize` of them) go out as one
   * transaction through a Multicall3-compatible `aggregate3` contract at `multicall`, each payment's outcome read
   * back exactly from the token's logs (see `eip3009Batcher.ts`). Costs each payment up to `windowMs` of latency;
   * saves gas and nonces under load. Default: off, one transaction per settlement.
   */
  batch?: Eip3009BatchParameters;
};

const ID = 'evm-eip3009';

/**
 * Server rail for x402 `exact` on EVM with EIP-3009, wire-identical to the official scheme.
 * verify: offline signature recovery, payee/amount/window checks, then on-chain nonce and balance reads
 * (no state change). settle: `transferWithAuthorization` from the gas account; idempotent — a payment whose
 * nonce was already used by our own earlier settlement is answered with that transaction. It speaks MPP too
 * (`evm`/`charge`, see {@link evmMppChargeServer}): the same offers, verify and settle.
 *
 * @example evmEip3009Server({ chainId, publicClient, walletClient, token, payTo })
 */
export function evmEip3009Server(p: EvmEip3009ServerParameters): FindSettlementRail & MppServerRail {
  const network = evmNetwork(p.chainId);
  const queue = submitQueueFor(p.walletClient.account.address);
  const batcher = p.batch && createEip3009Batcher(ID, p, p.token.address, queue, p.batch);
  const parse = (payload: Record<string, unknown>): Eip3009Payload =>
    parsePayload(Eip3009PayloadSchema, payload, 'EIP-3009');
  const domainChecked = tokenDomainCheck({
    publicClient: p.publicClient,
    chainId: p.chainId,
    token: p.token,
    rail: ID,
    enabled: p.checkTokenDomain,
  });

  return defineServerRail({
    id: ID,
    // MPP `evm`/`charge` (authorization credential), wire-identical to mppx.
    mpp: evmMppChargeServer({ chainId: p.chainId, token: p.token }),
    supports: (req) =>
      req.scheme === 'exact' &&
      req.network === network &&
      sameAddress(req.asset, p.token.address) &&
      transferMethodOf(req) === 'eip3009',
    async quote(offer: PriceOffer) {
      return baseRequirements(network, p.token, p.payTo, offer, {});
    },
    paymentId(payload) {
      const { authorization } = parse(payload);
      return `${p.chainId}:${p.token.address.toLowerCase()}:${authorization.from.toLowerCase()}:${authorization.nonce.toLowerCase()}`;
    },
    async verify(payload, req, ctx): Promise<VerifyResult> {
      const parsed = parse(payload);
      await domainChecked();
      const a = parsed.authorization;
      const offline = await verifyEip3009Signature(parsed, req, {
        network,
        token: p.token,
        now: ctx.now,
        ...(p.settleWindowSeconds !== undefined ? { settleWindowSeconds: p.settleWindowSeconds } : {}),
      });
      if (!offline.isValid) return offline;
      const invalid = (reason: string, message: string): VerifyResult => ({
        isValid: false,
        reason,
        message,
        payer: a.from,
      });
      const [used, balance, code] = await read(ID, 'nonce, balance and payer code', () =>
        Promise.all([
          p.publicClient.readContract({
            address: p.token.address,
            abi: exactTokenAbi,
            functionName: 'authorizationState',
            args: [a.from, a.nonce],
          }),
          p.publicClient.readContract({
            address: p.token.address,
            abi: exactTokenAbi,
            functionName: 'balanceOf',
            args: [a.from],
          }),
          p.publicClient.getCode({ address: a.from }),
        ]),
      );
      if (used) return invalid('nonce_used', 'This authorization nonce was already used or canceled.');
      if (balance < BigInt(a.value))
        return invalid('insufficient_funds', `The payer holds ${balance}, less than ${a.value}.`);
      const typed = eip3009TypedData(parsed, req); // defined: the offline check passed over it
      const contract = typed && (await contractPayerRefusal(ID, p.publicClient, a.from, code, typed, parsed.signature));
      if (contract) return invalid(contract.reason, contract.message);
      return { isValid: true, payer: getAddress(a.from), amount: a.value };
    },
    async findSettlement(payload, req) {
      const parsed = parse(payload);
      await domainChecked();
      const a = parsed.authorization;
      // Only a payment the payer signed for this offer may claim a transfer found on chain (the validity window
      // is not checked: a payment that landed before it lapsed is still paid).
      const signed = await verifyEip3009Signature(parsed, req, { network, token: p.token, now: null });
      if (!signed.isValid) return undefined;
      const earlier = await findEarlierSettlement(p, a);
      return earlier && earlier !== 'canceled'
        ? { reference: earlier, payer: getAddress(a.from), amount: a.value }
        : undefined;
    },
    async settle(payload, req, ctx) {
      const { authorization: a, signature } = parse(payload);
      await domainChecked();
      const earlier = await findEarlierSettlement(p, a);
      if (earlier === 'canceled')
        return {
          status: 'failed',
          reason: 'nonce_used',
          message: 'The authorization nonce was canceled or used elsewhere.',
        };
      if (earlier) return { status: 'settled', reference: earlier, payer: getAddress(a.from), amount: a.value };
      const { v, r, s, yParity } = parseSignature(signature);
      const args = [
        a.from,
        a.to,
        BigInt(a.value),
        BigInt(a.validAfter),
        BigInt(a.validBefore),
        a.nonce,
        Number(v ?? BigInt(yParity + 27)),
        r,
        s,
      ] as const;
      const outcome = batcher
        ? await batcher.settle(args, ctx.onBroadcast)
        : await submitAndWait(
            ID,
            p,
            queue,
            async () => {
              const { request } = await p.publicClient.simulateContract({
                address: p.token.address,
                abi: exactTokenAbi,
                functionName: 'transferWithAuthorization',
                args,
                account: p.walletClient.account,
              });
              return { to: request.address, data: encodeFunctionData(request) };
            },
            ctx.onBroadcast,
          );
      if (outcome.status === 'failed') {
        // Refused because another transaction used the authorization meanwhile (a replaced transaction of ours,
        // or anyone who submitted it: it can only pay the payee it names): that transaction is the settlement.
        const landed = await findEarlierSettlement(p, a).catch(() => undefined);
        if (landed && landed !== 'canceled')
          return { status: 'settled', reference: landed, payer: getAddress(a.from), amount: a.value };
      }
      if (outcome.status !== 'mined') return outcome;
      return { status: 'settled', reference: outcome.hash, payer: getAddress(a.from), amount: req.amount };
    },
  });
}

/**
 * The offline half of EIP-3009 verification (no RPC): payee, amount, network and token (and the offer's EIP-712
 * domain against the token's), validity window at `now` (`null`: not checked) with time left to serve and settle
 * (`requiredValiditySeconds`: 6–30 s), and
 * EIP-712 signature recovery to `from` in the one canonical form the token accepts (65 bytes, low s).
 *
 * @example await verifyEip3009Signature(payload, req, { network: 'eip155:8453', token, now: Date.now() }); // { isValid: true, payer, amount }
 */
export async function verifyEip3009Signature(
  { authorization: a, signature }: Eip3009Payload,
  req: PaymentRequirements,
  p: { network: string; token: EvmTokenConfig; now: number | null; settleWindowSeconds?: number },
): Promise<VerifyResult> {
  const invalid = (reason: string, message: string): VerifyResult => ({
    isValid: false,
    reason,
    message,
    payer: a.from,
  });
  const common = checkCommon(req, p.network, p.token, { to: a.to, value: a.value });
  if (common) return invalid(common.reason, common.message);
  if (p.now !== null) {
    const now = BigInt(Math.floor(p.now / 1000));
    if (BigInt(a.validBefore) < now + requiredValiditySeconds(req, p.settleWindowSeconds))
      return invalid(
        'expired',
        'The authorization expires too soon to be settled after the service, or has expired; sign a new one.',
      );
    // The token wants block.timestamp > validAfter (strictly): an authorization valid from this very second could
    // still revert in a block mined within it.
    if (BigInt(a.validAfter) >= now) return invalid('not_yet_valid', 'The authorization is not valid yet.');
  }
  const typed = eip3009TypedData({ authorization: a, signature }, req);
  if (!typed) return invalid('invalid_requirements', 'The offer lacks its EIP-712 domain.');
  const refusal = await typedDataSignedBy({ ...typed, signature }, a.from);
  if (refusal) return invalid(refusal.reason, refusal.message);
  return { isValid: true, payer: getAddress(a.from), amount: a.value };
}

/**
 * When the nonce is already used, the transaction that used it for THIS authorization (our own earlier settlement
 * of this same payment, possibly inside a batch): its `AuthorizationUsed(from, nonce)` log, in a transaction that
 * also moved `value` from `from` to `to`. A nonce used by another authorization (same nonce, other terms) or
 * canceled is `'canceled'`: this payment can never settle.
 */
async function findEarlierSettlement(
  p: EvmEip3009ServerParameters,
  a: Eip3009Payload['authorization'],
): Promise<`0x${string}` | 'canceled' | undefined> {
  const used = await read(ID, 'the authorization state', () =>
    p.publicClient.readContract({
      address: p.token.address,
      abi: exactTokenAbi,
      functionName: 'authorizationState',
      args: [a.from, a.nonce],
    }),
  );
  if (!used) return undefined;
  const logs = await read(ID, 'authorization logs', () =>
    p.publicClient.getContractEvents({
      address: p.token.address,
      abi: exactTokenAbi,
      eventName: 'AuthorizationUsed',
      args: { authorizer: a.from, nonce: a.nonce },
      fromBlock: 0n,
    }),
  );
  const hash = logs[0]?.transactionHash;
  if (!hash) return 'canceled';
  const receipt = await read(ID, 'the settlement receipt', () => p.publicClient.getTransactionReceipt({ hash }));
  const moved = parseEventLogs({ abi: exactTokenAbi, eventName: 'Transfer', logs: receipt.logs }).some(
    (log) =>
      sameAddress(log.address, p.token.address) &&
      sameAddress(log.args.from, a.from) &&
      sameAddress(log.args.to, a.to) &&
      log.args.value === BigInt(a.value),
  );
  return moved ? hash : 'canceled';
}

/** The EIP-712 typed data an EIP-3009 payload signs, over the offer's domain (undefined when the offer has none). */
function eip3009TypedData({ authorization: a }: Eip3009Payload, req: PaymentRequirements) {
  const domain = domainOf(req);
  if (!domain) return undefined;
  return {
    domain,
    types: transferWithAuthorizationTypes,
    primaryType: 'TransferWithAuthorization' as const,
    message: { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) },
  };
}
