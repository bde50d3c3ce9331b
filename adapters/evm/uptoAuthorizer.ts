import { getAddress, keccak256, stringToHex } from 'viem';
import { RailUnavailableError, type PaymentContext, type PaymentRequirements } from '../../src/index';
import type {
  Authorized,
  AuthorizationCheck,
  AuthorizationRefused,
  MeteringAuthorizer,
  SettleAuthorizedRequest,
} from '../../src/metering/meteringAuthorizer';
import type { RefundResult } from '../../src/metering/meteringRefunder';
import { UptoPermit2PayloadSchema, type UptoPermit2Payload } from './payloads';
import { EIP2612_GAS_SPONSORING, permit2PaymentId } from './permit2Common';
import { transferState } from './transferState';
import { evmUptoServer, type EvmUptoServerParameters } from './uptoServer';

/** Parameters of {@link evmUptoAuthorizer}: those of the route's `evmUptoServer` rail (same gas account, same payee). */
export type EvmUptoAuthorizerParameters = EvmUptoServerParameters & {
  /**
   * The longest a session's upto permit may run, seconds from its verification to its deadline (default 7 days):
   * longer ones are refused (`permit2_deadline_too_far`), and a settlement is searched for on chain within it.
   */
  maxAuthorizationSeconds?: number;
};

const RAIL = 'evm-upto';

/**
 * EVM "authorize max, settle actual" for metered routes (`settle: 'authorize'`) over the standard x402 `upto`
 * scheme, so an unmodified official x402 client (with its `upto` scheme registered) can open a metered session.
 * The route offers the `evm-upto` rail (`evmUptoServer`, same parameters: the payer signs a Permit2 witness transfer
 * of at most the route's price to `payTo`, settleable only by this gas account); its `maxTimeoutSeconds` must
 * outlast the session plus `SETTLE_MARGIN_SECONDS`, since the official client signs `deadline = now +
 * maxTimeoutSeconds`.
 *
 * At open, `verify` runs the upto rail's verification for the maximum (payee, amount, spender, facilitator,
 * signature, Permit2 nonce unused, balance, allowance or `eip2612GasSponsoring` permit, simulation) and requires
 * the permit (and a sponsoring permit) to last until the session can be settled; nothing moves. At close, `settle`
 * is the rail's settlement of the session's total (at most the maximum; above it is refused with
 * `invalid_upto_evm_payload_settlement_exceeds_amount` and nothing moves): one proxy call, idempotent (a nonce
 * already used by this payment's settlement answers that transaction) and recorded at broadcast.
 *
 * @example
 * const meter = metering({ token, signer, routes: { 'POST /llm': { maxUnitsPerCall: 1_000n, unitPrice: 10n, settle: 'authorize' } },
 *   authorizers: { 'evm-upto': evmUptoAuthorizer({ chainId, publicClient, walletClient, token: rUSD, payTo }) } });
 */
export function evmUptoAuthorizer(p: EvmUptoAuthorizerParameters): MeteringAuthorizer {
  const rail = evmUptoServer(p);
  const lifetime = p.maxAuthorizationSeconds ?? 7 * 24 * 3600;
  const binding = { method: 'POST', url: 'x402-rails:metering/authorize', bodyHash: '' };
  const requirements = (max: bigint, maxTimeoutSeconds: number): Promise<PaymentRequirements> =>
    rail.quote(
      { rail: RAIL, amount: max, maxTimeoutSeconds },
      { request: binding, resource: { url: binding.url }, now: Date.now() },
    );
  const context = (payload: UptoPermit2Payload, now: number, extra: Partial<PaymentContext> = {}): PaymentContext => ({
    request: binding,
    now,
    paymentId: permit2PaymentId(p.chainId, payload.permit2Authorization),
    ...extra,
  });

  async function verify(
    raw: Record<string, unknown>,
    check: AuthorizationCheck,
  ): Promise<Authorized | AuthorizationRefused> {
    const parsed = UptoPermit2PayloadSchema.safeParse(raw);
    if (!parsed.success) return refused('invalid_payload', 'The upto Permit2 payload is malformed.');
    const payload = parsed.data;
    const a = payload.permit2Authorization;
    if (BigInt(a.deadline) < BigInt(check.lastsUntil))
      return refused(
        'deadline_too_short',
        `The permit deadline ${a.deadline} ends before the session can be settled (${check.lastsUntil}); the offer's maxTimeoutSeconds must outlast the session.`,
      );
    const sponsoring = payload.extensions?.eip2612GasSponsoring?.info;
    if (sponsoring && BigInt(sponsoring.deadline) < BigInt(check.lastsUntil))
      return refused(
        'deadline_too_short',
        `The EIP-2612 permit deadline ${sponsoring.deadline} ends before the session can be settled (${check.lastsUntil}).`,
      );
    const verdict = await rail.verify(raw, await requirements(check.max, lifetime), context(payload, check.now));
    if (!verdict.isValid) return refused(verdict.reason, verdict.message);
    return {
      ok: true,
      // Permit2 nonces are 256-bit (the official client draws them at random): the session id is their digest.
      id: `${p.chainId}:upto:${keccak256(stringToHex(permit2PaymentId(p.chainId, a)))}`,
      payer: getAddress(a.from),
      payee: getAddress(a.witness.to),
      amount: BigInt(a.permitted.amount),
    };
  }

  async function settle(r: SettleAuthorizedRequest): Promise<RefundResult> {
    const parsed = UptoPermit2PayloadSchema.safeParse(r.authorization);
    if (!parsed.success)
      return { status: 'refused', reason: 'invalid_payload', message: 'The stored upto permit is malformed.' };
    const payload = parsed.data;
    const max = BigInt(payload.permit2Authorization.permitted.amount);
    const onBroadcast = r.onBroadcast;
    let result;
    try {
      result = await rail.settle(
        r.authorization,
        await requirements(max, lifetime),
        context(payload, Date.now(), {
          charge: r.amount.toString(),
          ...(onBroadcast ? { onBroadcast } : {}),
        }),
      );
    } catch (error) {
      // Nothing was broadcast (a read failed, or the node refused the transaction before taking it).
      if (error instanceof RailUnavailableError && error.status !== 502)
        return { status: 'refused', reason: 'rail_unavailable', message: error.message };
      throw error;
    }
    if (result.status === 'settled') return { status: 'sent', reference: result.reference };
    if (result.status === 'failed') return { status: 'refused', reason: result.reason, message: result.message };
    throw new RailUnavailableError(
      `Settlement ${result.reference} was broadcast but not confirmed: ${result.message}`,
      {
        rail: RAIL,
        status: 502,
        details: { reference: result.reference },
      },
    );
  }

  return {
    rail: RAIL,
    payloadExtensionKeys: [EIP2612_GAS_SPONSORING],
    supports: (req: PaymentRequirements) => rail.supports(req),
    verify,
    settle,
    async lookup({ authorization, amount, reference }) {
      const parsed = UptoPermit2PayloadSchema.safeParse(authorization);
      if (!parsed.success) return 'unknown';
      const a = parsed.data.permit2Authorization;
      return transferState(RAIL, p, reference, {
        token: p.token.address,
        from: a.from,
        to: a.witness.to,
        value: amount,
      });
    },
  };
}

function refused(reason: string, message: string): AuthorizationRefused {
  return { ok: false, reason, message };
}
