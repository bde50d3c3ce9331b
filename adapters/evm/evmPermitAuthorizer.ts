import { encodeFunctionData, getAddress, parseSignature, type Address } from 'viem';
import { RailUnavailableError, evmNetwork, type PaymentRequirements } from '../../src/index';
import type {
  Authorized,
  AuthorizationCheck,
  AuthorizationRefused,
  MeteringAuthorizer,
  SettleAuthorizedRequest,
} from '../../src/metering/meteringAuthorizer';
import type { RefundResult } from '../../src/metering/meteringRefunder';
import { exactTokenAbi, permitTypes } from './abi';
import { submitQueueFor, read, submitAndWait, type ContractCall } from './chain';
import { Eip2612PayloadSchema, type Eip2612Payload } from './payloads';
import { sameAddress, transferMethodOf } from './requirements';
import { transferState } from './transferState';
import type { EvmServerParameters } from './serverCommon';
import { typedDataSignedBy } from './recoverTypedDataSigner';
import { bindSpender } from './spenderBinding';
import { tokenDomainCheck } from './assertEvmTokenDomain';
import { contractPayerRefusal } from './contractPayerRefusal';

/** Parameters of {@link evmPermitAuthorizer}: the gas account (the permit's spender) and where totals go. */
export type EvmPermitAuthorizerParameters = EvmServerParameters;

const RAIL = 'evm-eip2612';

/**
 * EVM "authorize max, settle actual" for metered routes (`settle: 'authorize'`) over an EIP-2612 `permit`:
 * at open the client's permit for the route's maximum to this server's gas account (the spender) is checked
 * (signature over the token's domain, spender, value, the owner's current nonce, balance ≥ value, deadline
 * beyond the session) and nothing moves; at close `settle` submits `permit` (skipped when an earlier attempt
 * already did) and then ONE `transferFrom(owner, payTo, total)`. The route offers the `evm-eip2612` rail (its
 * amount is the maximum) with a `maxTimeoutSeconds` beyond the session's lifetime plus `SETTLE_MARGIN_SECONDS`.
 * Totals go only to `payTo`: the spender is bound to that one payee, shared with the route's EIP-2612 rail (an
 * authorizer and a rail of one gas account with different payees cannot be built; see `evmEip2612Server`).
 *
 * @example
 * const meter = metering({ token, signer, routes: { 'POST /llm': { maxUnitsPerCall: 1_000n, unitPrice: 10n, settle: 'authorize' } },
 *   authorizers: { 'evm-eip2612': evmPermitAuthorizer({ chainId, publicClient, walletClient, token: rUSD, payTo }) } });
 */
export function evmPermitAuthorizer(p: EvmPermitAuthorizerParameters): MeteringAuthorizer {
  const network = evmNetwork(p.chainId);
  const spender = getAddress(p.walletClient.account.address);
  const domain = {
    name: p.token.name,
    version: p.token.version,
    chainId: p.chainId,
    verifyingContract: getAddress(p.token.address),
  };
  const queue = submitQueueFor(p.walletClient.account.address);
  // The spender pays one payee only, the same as the EIP-2612 rail that offers the route (see bindSpender).
  bindSpender({ chainId: p.chainId, token: p.token.address, spender, payee: p.payTo });
  const domainChecked = tokenDomainCheck({
    publicClient: p.publicClient,
    chainId: p.chainId,
    token: p.token,
    rail: RAIL,
    enabled: p.checkTokenDomain,
  });
  const nonceOf = (owner: Address) =>
    p.publicClient.readContract({
      address: p.token.address,
      abi: exactTokenAbi,
      functionName: 'nonces',
      args: [owner],
    });

  async function verify(
    payload: Record<string, unknown>,
    check: AuthorizationCheck,
  ): Promise<Authorized | AuthorizationRefused> {
    const parsed = Eip2612PayloadSchema.safeParse(payload);
    if (!parsed.success) return refused('invalid_payload', 'The EIP-2612 permit payload is malformed.');
    const { permit: m, signature } = parsed.data;
    await domainChecked();
    if (!sameAddress(m.spender, spender))
      return refused('spender_mismatch', `The permit must name this server's spender ${spender}.`);
    if (BigInt(m.value) !== check.max)
      return refused('amount_mismatch', `The permit is for ${m.value}; this route authorizes exactly ${check.max}.`);
    if (BigInt(m.deadline) < BigInt(check.lastsUntil))
      return refused(
        'deadline_too_short',
        `The permit deadline ${m.deadline} ends before the session can be settled (${check.lastsUntil}).`,
      );
    const typed = { domain, types: permitTypes, primaryType: 'Permit' as const, message: messageOf(m) };
    const refusal = await typedDataSignedBy({ ...typed, signature }, m.owner);
    if (refusal) return refused(refusal.reason, refusal.message);
    const [nonce, balance, code] = await read(RAIL, 'permit nonce, balance and owner code', () =>
      Promise.all([
        nonceOf(m.owner),
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
      return refused('nonce_used', `The permit nonce ${m.nonce} is not the owner's current nonce ${nonce}.`);
    if (balance < BigInt(m.value))
      return refused('insufficient_funds', `The payer holds ${balance}, less than the ${m.value} authorized.`);
    const contract = await contractPayerRefusal(RAIL, p.publicClient, m.owner, code, typed, signature);
    if (contract) return refused(contract.reason, contract.message);
    return {
      ok: true,
      id: `${p.chainId}:${p.token.address.toLowerCase()}:permit:${m.owner.toLowerCase()}:${m.nonce}`,
      payer: getAddress(m.owner),
      payee: getAddress(p.payTo),
      amount: BigInt(m.value),
    };
  }

  async function settle(r: SettleAuthorizedRequest): Promise<RefundResult> {
    const parsed = Eip2612PayloadSchema.safeParse(r.authorization);
    if (!parsed.success)
      return { status: 'refused', reason: 'invalid_payload', message: 'The stored permit is malformed.' };
    const { permit: m, signature } = parsed.data;
    const [nonce, allowance] = await read(RAIL, 'permit state', () =>
      Promise.all([
        nonceOf(m.owner),
        p.publicClient.readContract({
          address: p.token.address,
          abi: exactTokenAbi,
          functionName: 'allowance',
          args: [m.owner, spender],
        }),
      ]),
    ).catch(unavailable);
    if (nonce === undefined || allowance === undefined)
      return {
        status: 'refused',
        reason: 'rail_unavailable',
        message: 'The EVM RPC could not be read; nothing was sent.',
      };
    // An earlier attempt may have submitted the permit already: its allowance is then what is left to use.
    if (!(nonce > BigInt(m.nonce) && allowance >= r.amount)) {
      if (nonce !== BigInt(m.nonce))
        return {
          status: 'refused',
          reason: 'nonce_used',
          message: 'The permit nonce was used by another transaction; nothing was settled.',
        };
      const { v, r: sigR, s, yParity } = parseSignature(signature);
      const permitted = await submit(async () => {
        const { request } = await p.publicClient.simulateContract({
          address: p.token.address,
          abi: exactTokenAbi,
          functionName: 'permit',
          args: [m.owner, spender, BigInt(m.value), BigInt(m.deadline), Number(v ?? BigInt(yParity + 27)), sigR, s],
          account: p.walletClient.account,
        });
        return { to: request.address, data: encodeFunctionData(request) };
      });
      if (permitted.status === 'failed')
        return { status: 'refused', reason: permitted.reason, message: `The permit was refused: ${permitted.message}` };
      if (permitted.status === 'pending')
        return {
          status: 'refused',
          reason: 'permit_pending',
          message: `The permit ${permitted.reference} is not confirmed yet; no tokens moved. Retry the close.`,
        };
    }
    const moved = await submit(async () => {
      const { request } = await p.publicClient.simulateContract({
        address: p.token.address,
        abi: exactTokenAbi,
        functionName: 'transferFrom',
        args: [m.owner, getAddress(p.payTo), r.amount],
        account: p.walletClient.account,
      });
      return { to: request.address, data: encodeFunctionData(request) };
    }, r.onBroadcast);
    if (moved.status === 'mined') return { status: 'sent', reference: moved.hash };
    if (moved.status === 'failed') return { status: 'refused', reason: moved.reason, message: moved.message };
    throw new RailUnavailableError(`Settlement ${moved.reference} was broadcast but not confirmed: ${moved.message}`, {
      rail: RAIL,
      status: 502,
      details: { reference: moved.reference },
    });
  }

  /** Submits one simulated token call from the gas account; an RPC that took nothing is a refusal (`rail_unavailable`). */
  async function submit(prepare: () => Promise<ContractCall>, onBroadcast?: (reference: string) => Promise<void>) {
    try {
      return await submitAndWait(RAIL, p, queue, prepare, onBroadcast);
    } catch (error) {
      if (error instanceof RailUnavailableError && error.status !== 502)
        return { status: 'failed' as const, reason: 'rail_unavailable', message: error.message };
      throw error;
    }
  }

  return {
    rail: RAIL,
    supports: (req: PaymentRequirements) =>
      req.scheme === 'exact' &&
      req.network === network &&
      sameAddress(req.asset, p.token.address) &&
      transferMethodOf(req) === 'eip2612',
    verify,
    settle,
    async lookup({ authorization, amount, reference }) {
      const parsed = Eip2612PayloadSchema.safeParse(authorization);
      if (!parsed.success) return 'unknown';
      return transferState(RAIL, p, reference, {
        token: p.token.address,
        from: parsed.data.permit.owner,
        to: getAddress(p.payTo),
        value: amount,
      });
    },
  };
}

function refused(reason: string, message: string): AuthorizationRefused {
  return { ok: false, reason, message };
}

function messageOf(m: Eip2612Payload['permit']) {
  return { ...m, value: BigInt(m.value), nonce: BigInt(m.nonce), deadline: BigInt(m.deadline) };
}

function unavailable(): [undefined, undefined] {
  return [undefined, undefined];
}
