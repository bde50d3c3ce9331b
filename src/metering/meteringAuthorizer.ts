import type { PaymentRequirements } from '../protocol/schemas';
import type { RefundResult } from './meteringRefunder';

/** What an authorization must satisfy to open a session: the route's maximum and how long it must stay usable. */
export type AuthorizationCheck = {
  /** The route's price on the authorizer's rail: the most the session may settle (atomic units). */
  max: bigint;
  /** Unix seconds the authorization must still be usable at (the session's expiry plus a settling margin). */
  lastsUntil: number;
  /** Clock, ms. */
  now: number;
};

/** A verified authorization: who pledged how much, and its id (one authorization opens one session). */
export type Authorized = { ok: true; id: string; payer: string; payee: string; amount: bigint };

/** An authorization refused at open; nothing was moved. */
export type AuthorizationRefused = { ok: false; reason: string; message: string };

/** Settles the actual total of a closed session from the authorization it was opened with. */
export type SettleAuthorizedRequest = {
  session: string;
  /** The rail payload the session was opened with (e.g. an EIP-2612 permit and its signature). */
  authorization: Record<string, unknown>;
  /** The session's total (> 0, ≤ the authorized maximum). */
  amount: bigint;
  /** Called with the settling transaction's reference the moment it is broadcast (recorded before confirmation). */
  onBroadcast?: (reference: string) => Promise<void>;
};

/**
 * "Authorize max, settle actual" on one rail (`settle: 'authorize'` routes): `verify` checks an authorization
 * at session open without moving money; `settle` moves exactly the session's total once, at close. `settle`
 * answers `refused` only when nothing moved; it throws when the outcome is unknown (the session's settlement
 * stays `in_progress` and is never sent again on its own). The EVM adapter provides `evmUptoAuthorizer` (x402 `upto`, what official
 * clients pay) and `evmPermitAuthorizer` (this project's EIP-2612 permit).
 *
 * @example const meter = metering({ …, authorizers: { 'evm-eip2612': evmPermitAuthorizer({ chainId, publicClient, walletClient, token, payTo }) } });
 */
export type MeteringAuthorizer = {
  /** Rail id of the route offer it takes (the offer's amount is the maximum). */
  readonly rail: string;
  /**
   * The PaymentPayload extensions its authorizations carry (e.g. `eip2612GasSponsoring` beside an x402 `upto`
   * permit): folded into the payload under `extensions` before `verify`, and kept with the session for `settle`.
   */
  readonly payloadExtensionKeys?: readonly string[];
  /** Whether a payment made for these requirements is one of this authorizer's authorizations. */
  supports(accepted: PaymentRequirements): boolean;
  verify(payload: Record<string, unknown>, check: AuthorizationCheck): Promise<Authorized | AuthorizationRefused>;
  settle(request: SettleAuthorizedRequest): Promise<RefundResult>;
  /**
   * What became of a settlement transaction on record (its reference was recorded at broadcast, its outcome was
   * not: a crash, a lost confirmation). `landed` (exactly `amount` moved from the authorization's owner) lets a
   * later close record it as sent; anything else leaves it to the operator.
   */
  lookup?(request: {
    authorization: Record<string, unknown>;
    amount: bigint;
    reference: string;
  }): Promise<'landed' | 'in_flight' | 'unknown'>;
};
