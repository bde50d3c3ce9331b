import type { PaymentOutcome } from '../../client/paymentOutcome';
import type { RailPayload, Wallet } from '../../core/rail';
import type { PaymentRequirements } from '../../protocol/schemas';
import type { FetchLike } from '../../client/payingFetch';
import type { RailConformanceSetup } from '../setup';

/** The protocols the kit checks a rail under, in the order it runs them. */
export const conformanceProtocols = ['x402', 'l402', 'mpp'] as const;

/** One protocol: x402 (PAYMENT-SIGNATURE), L402 (`Authorization: L402`), MPP (`Authorization: Payment`). */
export type ConformanceProtocol = (typeof conformanceProtocols)[number];

/** A request paid the way a client of the protocol pays it, and what that client learned. */
export type PaidRequest = { res: Response; outcome: PaymentOutcome | undefined };

/**
 * How the kit speaks one protocol: reads the protocol's challenge from a 402 (as an offer in the x402 shape, which
 * every scenario alters the same way), makes a payment for an offer, and presents it. A driver belongs to one
 * context: it remembers the challenges it read, so a payment made for an altered copy of an offer is still
 * presented against the challenge the server made.
 */
export type ProtocolDriver = {
  readonly id: ConformanceProtocol;
  /** Throws ConformanceFailure unless the setup's server and client rails both speak this protocol. */
  assertSpoken(): void;
  /** Reads the protocol's first challenge of a 402 as an offer; throws ConformanceFailure when there is none. */
  read(res: Response): PaymentRequirements;
  /** Makes a payment for `offer` (possibly an altered copy of one `read` returned). */
  pay(offer: PaymentRequirements, wallet: Wallet, now: number): Promise<RailPayload>;
  /** The request headers presenting `payload` for the challenge `accepted` stands for. */
  present(accepted: PaymentRequirements, payload: RailPayload, url: string): Record<string, string>;
  /** Headers carrying a credential of this protocol that cannot be read at all (answered 400). */
  readonly garbage: Record<string, string>;
  /** Pays `url` with `wallet` as this protocol's client does (payingFetch, or by hand where it has no client). */
  payRequest(fetch: FetchLike, wallet: Wallet, url: string, body: string): Promise<PaidRequest>;
  /** True when a settled credential of this protocol is refused on any second presentation (MPP consume-once). */
  consumeOnce(): boolean;
  /** True when a settled credential may be reused for other requests within its limits (L402). */
  reusable(): boolean;
};

/** What a driver is built from. */
export type ProtocolDriverParameters = { setup: RailConformanceSetup; origin: string };
