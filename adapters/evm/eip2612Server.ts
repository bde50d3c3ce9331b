import { encodeFunctionData, getAddress, parseSignature } from 'viem';
import {
  ConfigurationError,
  defineServerRail,
  evmNetwork,
  type PriceOffer,
  type ServerRail,
  type VerifyResult,
} from '../../src/index';
import { exactTokenAbi, permitTypes } from './abi';
import { submitQueueFor, read, submitAndWait } from './chain';
import { Eip2612PayloadSchema, type Eip2612Payload } from './payloads';
import { transferState } from './transferState';
import { domainOf, sameAddress, transferMethodOf } from './requirements';
import {
  baseRequirements,
  checkCommon,
  parsePayload,
  requiredValiditySeconds,
  type EvmServerParameters,
} from './serverCommon';
import { typedDataSignedBy } from './recoverTypedDataSigner';
import { bindSpender } from './spenderBinding';
import { tokenDomainCheck } from './assertEvmTokenDomain';
import { contractPayerRefusal } from './contractPayerRefusal';

/** Parameters of {@link evmEip2612Server}. */
export type EvmEip2612ServerParameters = EvmServerParameters;

const ID = 'evm-eip2612';

/**
 * Server rail for EVM `exact` offers paid with an EIP-2612 `permit` (an x402-rails extension, marked by
 * `extra.assetTransferMethod = "eip2612"`). The payer permits the server's gas account (`extra.spender`)
 * to spend exactly `amount`; settle submits `permit` and then `transferFrom(owner, payTo, amount)`.
 *
 * Single-payee by design: a permit names a spender, not a payee, so the spender (the gas account) is bound to
 * exactly one payee, `payTo`. Quoting another `offer.payTo` throws a ConfigurationError, verify and settle refuse
 * requirements naming another payee (`payee_not_bound`), and a second EIP-2612 rail or permit authorizer in this
 * process with the same spender and token but another payee cannot be built. Offering several payees (a
 * marketplace, a multi-tenant facilitator) takes one gas account per payee, or EIP-3009, whose signature binds
 * `to`; the payee-binding standard is Permit2 with a witness.
 *
 * @example evmEip2612Server({ chainId, publicClient, walletClient, token, payTo })
 */
export function evmEip2612Server(p: EvmEip2612ServerParameters): ServerRail {
  const network = evmNetwork(p.chainId);
  const spender = getAddress(p.walletClient.account.address);
  const queue = submitQueueFor(p.walletClient.account.address);
  const payee = getAddress(p.payTo);
  bindSpender({ chainId: p.chainId, token: p.token.address, spender, payee });
  const parse = (payload: Record<string, unknown>): Eip2612Payload =>
    parsePayload(Eip2612PayloadSchema, payload, 'EIP-2612');
  const domainChecked = tokenDomainCheck({
    publicClient: p.publicClient,
    chainId: p.chainId,
    token: p.token,
    rail: ID,
    enabled: p.checkTokenDomain,
  });
  /** Requirements naming another payee than the one this spender is bound to are refused: the payer never chose it. */
  const unboundPayee = (payTo: string): { reason: string; message: string } | undefined =>
    sameAddress(payTo, payee)
      ? undefined
      : {
          reason: 'payee_not_bound',
          message: `This EIP-2612 spender ${spender} pays only ${payee}: a permit binds a spender, not a payee, so it cannot be settled to ${payTo.slice(0, 42)}.`,
        };

  return defineServerRail({
    id: ID,
    supports: (req) =>
      req.scheme === 'exact' &&
      req.network === network &&
      sameAddress(req.asset, p.token.address) &&
      transferMethodOf(req) === 'eip2612',
    async quote(offer: PriceOffer) {
      if (offer.payTo !== undefined && !sameAddress(offer.payTo, payee)) {
        throw new ConfigurationError(
          `An EIP-2612 offer pays ${payee}, the payee its spender ${spender} is bound to, not ${offer.payTo}: a permit binds a spender, not a payee, so one spender (gas account) may pay only one payee. Give this payee its own gas account and rail, or offer EIP-3009.`,
        );
      }
      return baseRequirements(network, p.token, payee, offer, { assetTransferMethod: 'eip2612', spender });
    },
    paymentId(payload) {
      const { permit } = parse(payload);
      return `${p.chainId}:${p.token.address.toLowerCase()}:permit:${permit.owner.toLowerCase()}:${permit.nonce}`;
    },
    async verify(payload, req, ctx): Promise<VerifyResult> {
      const { permit: m, signature } = parse(payload);
      await domainChecked();
      const invalid = (reason: string, message: string): VerifyResult => ({
        isValid: false,
        reason,
        message,
        payer: m.owner,
      });
      const common = checkCommon(req, network, p.token, { to: req.payTo, value: m.value });
      if (common) return invalid(common.reason, common.message);
      const unbound = unboundPayee(req.payTo);
      if (unbound) return invalid(unbound.reason, unbound.message);
      if (!sameAddress(m.spender, spender))
        return invalid('spender_mismatch', `The permit must name this server's spender ${spender}.`);
      const now = BigInt(Math.floor(ctx.now / 1000));
      if (BigInt(m.deadline) < now + requiredValiditySeconds(req, p.settleWindowSeconds))
        return invalid('expired', 'The permit deadline has passed or is too close; sign a new one.');
      const domain = domainOf(req);
      if (!domain) return invalid('invalid_requirements', 'The offer lacks its EIP-712 domain.');
      const typed = {
        domain,
        types: permitTypes,
        primaryType: 'Permit' as const,
        message: { ...m, value: BigInt(m.value), nonce: BigInt(m.nonce), deadline: BigInt(m.deadline) },
      };
      const refusal = await typedDataSignedBy({ ...typed, signature }, m.owner);
      if (refusal) return invalid(refusal.reason, refusal.message);
      const [nonce, balance, code] = await read(ID, 'permit nonce, balance and owner code', () =>
        Promise.all([
          p.publicClient.readContract({
            address: p.token.address,
            abi: exactTokenAbi,
            functionName: 'nonces',
            args: [m.owner],
          }),
          p.publicClient.readContract({
            address: p.token.address,
            abi: exactTokenAbi,
            functionName: 'balanceOf',
            args: [m.owner],
          }),
          p.publicClient.getCode({ address: m.owner }),
        ]),
      );
      if (nonce !== BigInt(m.nonce))
        return invalid('nonce_used', `The permit nonce ${m.nonce} is not the owner's current nonce ${nonce}.`);
      if (balance < BigInt(m.value))
        return invalid('insufficient_funds', `The payer holds ${balance}, less than ${m.value}.`);
      const contract = await contractPayerRefusal(ID, p.publicClient, m.owner, code, typed, signature);
      if (contract) return invalid(contract.reason, contract.message);
      return { isValid: true, payer: getAddress(m.owner), amount: m.value };
    },
    async settle(payload, req, ctx) {
      const { permit: m, signature } = parse(payload);
      const unbound = unboundPayee(req.payTo);
      if (unbound) return { status: 'failed', ...unbound };
      await domainChecked();
      const value = BigInt(m.value);
      // Reconciling: the transfer on record may already have landed (its permit nonce and allowance are spent
      // then, so nothing else could tell), or still be in flight.
      if (ctx.reference !== undefined) {
        const state = await transferState(ID, p, ctx.reference, {
          token: p.token.address,
          from: m.owner,
          to: getAddress(req.payTo),
          value,
        });
        if (state === 'landed')
          return { status: 'settled', reference: ctx.reference, payer: getAddress(m.owner), amount: req.amount };
        if (state === 'in_flight')
          return {
            status: 'pending',
            reference: ctx.reference,
            message: `Settlement ${ctx.reference} is not mined yet.`,
          };
      }
      const [nonce, allowance] = await read(ID, 'permit state', () =>
        Promise.all([
          p.publicClient.readContract({
            address: p.token.address,
            abi: exactTokenAbi,
            functionName: 'nonces',
            args: [m.owner],
          }),
          p.publicClient.readContract({
            address: p.token.address,
            abi: exactTokenAbi,
            functionName: 'allowance',
            args: [m.owner, spender],
          }),
        ]),
      );
      // Idempotent: a permit already submitted by an earlier attempt leaves the allowance to use.
      const permitDone = nonce > BigInt(m.nonce) && allowance >= value;
      if (!permitDone) {
        if (nonce !== BigInt(m.nonce))
          return { status: 'failed', reason: 'nonce_used', message: 'The permit nonce was already used.' };
        const { v, r, s, yParity } = parseSignature(signature);
        const permitted = await submitAndWait(
          ID,
          p,
          queue,
          async () => {
            const { request } = await p.publicClient.simulateContract({
              address: p.token.address,
              abi: exactTokenAbi,
              functionName: 'permit',
              args: [m.owner, spender, value, BigInt(m.deadline), Number(v ?? BigInt(yParity + 27)), r, s],
              account: p.walletClient.account,
            });
            return { to: request.address, data: encodeFunctionData(request) };
          },
          ctx.onBroadcast,
        );
        if (permitted.status !== 'mined') return permitted;
      }
      const moved = await submitAndWait(
        ID,
        p,
        queue,
        async () => {
          const { request } = await p.publicClient.simulateContract({
            address: p.token.address,
            abi: exactTokenAbi,
            functionName: 'transferFrom',
            args: [m.owner, getAddress(req.payTo), value],
            account: p.walletClient.account,
          });
          return { to: request.address, data: encodeFunctionData(request) };
        },
        ctx.onBroadcast,
      );
      if (moved.status !== 'mined') return moved;
      return { status: 'settled', reference: moved.hash, payer: getAddress(m.owner), amount: req.amount };
    },
  });
}
