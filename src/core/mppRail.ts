import type { MppChallenge } from '../protocol/mpp/mppChallenge';
import type { MppCredential } from '../protocol/mpp/mppCredential';
import type { PaymentRequirements } from '../protocol/schemas';
import type { ClientRail, CreatePaymentContext, RailPayload, ServerRail, Wallet } from './rail';

/**
 * The Machine Payments Protocol (`WWW-Authenticate: Payment`) as an optional power of a rail. A rail that can
 * speak MPP says how one of its offers reads as an MPP `request` (method + intent, e.g. `evm`/`charge`) and how
 * an MPP credential's `payload` reads as its own payload. Everything else — the challenge and its HMAC binding,
 * claim → verify → handler → settle-once → receipt — is the paywall's, the same for every protocol.
 */

/** A rejection of a credential that is well-formed but not acceptable (402 with the reason). */
export type MppRejection = { reason: string; message: string };

/** The server half of a rail's MPP method. */
export type MppServerMethod = {
  /** Payment method name, lower case (`evm`, `lightning`). */
  readonly method: string;
  /** Intent (`charge`). */
  readonly intent: string;
  /** The MPP `request` object for one of this rail's offers; undefined when that offer cannot be said in MPP. */
  request(offer: PaymentRequirements): Record<string, unknown> | undefined;
  /**
   * The rail payload a credential stands for, once the method's own binding to the challenge holds (EVM: the
   * EIP-3009 nonce is keccak256(id ‖ realm)). The rail's `verify` checks the rest (amount, payee, signature).
   */
  payload(credential: MppCredential, offer: PaymentRequirements): { payload: RailPayload } | MppRejection;
  /**
   * True when the method's specification makes a credential single-use (Lightning charge: the challenge is consumed
   * on first success): once it settled, any second presentation — the identical request included — is refused, and
   * concurrent presentations get one success. Otherwise a retry of the identical request is answered again with the
   * same receipt (never a second charge).
   */
  readonly consumeOnce?: boolean;
};

/** A server rail that speaks MPP. */
export interface MppServerRail extends ServerRail {
  readonly mpp: MppServerMethod;
}

/** True when the server rail can offer its payments as MPP challenges. */
export function speaksMppServer(rail: ServerRail): rail is MppServerRail {
  const mpp = (rail as Partial<MppServerRail>).mpp;
  return (
    typeof mpp === 'object' && mpp !== null && typeof mpp.request === 'function' && typeof mpp.payload === 'function'
  );
}

/** The client half of a rail's MPP method. */
export type MppClientMethod = {
  readonly method: string;
  readonly intent: string;
  /**
   * The offer an MPP challenge asks for, in the x402 shape every policy, budget and negotiation step reads;
   * undefined when this rail cannot pay it (another chain, another credential type).
   */
  offer(challenge: MppChallenge): PaymentRequirements | undefined;
  /** Builds (for rails that pay first: makes) the payment; returns the credential's payload and source. */
  createCredential(
    challenge: MppChallenge,
    offer: PaymentRequirements,
    wallet: Wallet,
    ctx: CreatePaymentContext,
  ): Promise<{ payload: Record<string, unknown>; source?: string }>;
};

/** A client rail that speaks MPP. */
export interface MppClientRail extends ClientRail {
  readonly mpp: MppClientMethod;
}

/** True when the client rail can pay MPP challenges. */
export function speaksMppClient(rail: ClientRail): rail is MppClientRail {
  const mpp = (rail as Partial<MppClientRail>).mpp;
  return (
    typeof mpp === 'object' &&
    mpp !== null &&
    typeof mpp.offer === 'function' &&
    typeof mpp.createCredential === 'function'
  );
}
