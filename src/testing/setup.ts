import type { ClientRail, PriceOffer, RailPayload, ServerRail, Wallet } from '../core/rail';
import type { Receipt } from '../core/receipt/receipt';
import type { PaymentRequirements } from '../protocol/schemas';
import type { ConformanceScenarioId } from './scenarios';
import type { ConformanceProtocol } from './protocols/types';

/** Balances the kit watches, in atomic units of the offer's asset. */
export type ConformanceBalances = { payer: bigint; payee: bigint };

/** Options of {@link ConformanceHookKit.pay}. */
export type ConformancePayOptions = {
  /** Wallet to pay from (default: the setup's funded payer wallet). */
  wallet?: Wallet;
  /** Client clock for `createPayment` (default: now). */
  now?: number;
};

/** What a bad-payment hook gets from the kit. */
export type ConformanceHookKit = {
  /** The request the payment will be presented with. */
  request: { method: string; url: string };
  /** Builds a payment with the setup's client rail for `offer` (possibly an altered copy of the real one). */
  pay(offer: PaymentRequirements, options?: ConformancePayOptions): Promise<RailPayload>;
  /** The setup's funded payer wallet. */
  wallet: Wallet;
  /** The setup's second payer wallet. */
  secondWallet: Wallet;
};

/**
 * Produces a bad payment for the real offer `offer` (the one the kit will echo in `accepted`). Use it where
 * the kit cannot derive the bad payment from the client rail alone.
 *
 * @example
 * // Solana: a transaction made on another cluster carries a blockhash this one never issued.
 * payOnOtherNetwork: (offer) => handMadePayment(devnet, offer, payer, { recentBlockhash: randomBlockhash() })
 */
export type BadPaymentHook = (offer: PaymentRequirements, kit: ConformanceHookKit) => Promise<RailPayload>;

/** Hooks for bad payments, one per scenario; each replaces the kit's generic derivation. */
export type ConformanceHooks = {
  /** Default: the client pays the offer with `amount` = `variants.amount` (default: the price − 1). */
  payWrongAmount?: BadPaymentHook;
  /** Default: the client pays the offer with `payTo` = `variants.payTo` (no default: give one, a hook, or skip). */
  payToOther?: BadPaymentHook;
  /** Default: the client pays the offer with `network` = `variants.network` (default: the CAIP-2 reference changed). */
  payOnOtherNetwork?: BadPaymentHook;
  /** Default: the client pays the offer with `asset` = `variants.asset` (no default: give one, a hook, or skip). */
  payOtherAsset?: BadPaymentHook;
  /** Default: the client pays with its clock set back by the offer's timeout plus an hour. */
  payExpired?: BadPaymentHook;
  /** Default: one character of the payload's longest string is changed within its alphabet (hex, base58, base64). */
  tamper?: (
    payload: RailPayload,
    offer: PaymentRequirements,
    kit: ConformanceHookKit,
  ) => RailPayload | Promise<RailPayload>;
};

/** Values the generic bad-payment derivations substitute into the real offer. */
export type ConformanceVariants = {
  amount?: string;
  payTo?: string;
  network?: `${string}:${string}`;
  asset?: string;
};

/**
 * Everything the conformance kit needs from a rail, rail-agnostically. Returned by the setup function the
 * kit calls once before its scenarios run.
 *
 * @example
 * const setup = async (): Promise<RailConformanceSetup> => ({
 *   server: myServerRail, client: myClientRail, wallet: alice, secondWallet: bob,
 *   offer: { rail: 'my-rail', amount: 1_000n },
 *   balances: async () => ({ payer: await balanceOf(alice), payee: await balanceOf(shop) }),
 *   payer: alice.address,
 *   variants: { payTo: mallory.address, asset: otherToken },
 *   skip: { expired: 'payments of this rail carry no validity window' },
 *   teardown: () => devnet.stop(),
 * });
 */
export type RailConformanceSetup = {
  /** The server half under test. */
  server: ServerRail;
  /** The client half under test (its `supports` must accept the server's quotes). */
  client: ClientRail;
  /** A funded payer wallet: it pays the happy path and every bad payment. */
  wallet: Wallet;
  /** A second funded payer wallet (pays beside the first in `distinctPayments`). */
  secondWallet: Wallet;
  /** The price every kit route asks (`rail` defaults to the server rail's id). */
  offer: Omit<PriceOffer, 'rail'> & { rail?: string };
  /**
   * Reads the first payer's and the payee's balances of the offered asset. A rail that pays while creating the
   * payment (`paysOnCreate`) is measured from after the payment was made to after the server answered.
   */
  balances(): Promise<ConformanceBalances>;
  /** The payer the receipt must name, where the rail learns it; omit when it does not (Lightning). */
  payer?: string;
  /** The payee the receipt must name (default: the quoted `payTo`). */
  payee?: string;
  /** Address equality for payer and payee (default: exact; EVM passes a case-insensitive compare). */
  sameAddress?(a: string, b: string): boolean;
  /**
   * Checks the happy path's receipt against the rail itself (the reference names a successful transfer of
   * `amount` from `payer` to `payee` on the chain, the proof opens the reference); throws when it does not.
   */
  checkSettlement?(receipt: Receipt): Promise<void> | void;
  /** Values for the generic bad-payment derivations. */
  variants?: ConformanceVariants;
  /** Bad-payment producers where the generic derivation does not apply to this rail. */
  hooks?: ConformanceHooks;
  /** Scenarios that cannot apply to this rail, each with the reason; reported as skipped. */
  skip?: Partial<Record<ConformanceScenarioId, string>>;
  /** Exact reason codes this rail must answer, per scenario (otherwise any non-empty snake_case reason passes). */
  expectReasons?: Partial<Record<ConformanceScenarioId, string | readonly string[]>>;
  /**
   * For rails that authorize the offer's amount as a maximum and settle what the route reports (x402 `upto`): the
   * charge the kit's handler reports (`reportCharge`). The paid scenarios then expect exactly this to move and the
   * receipt to state it as `amount`, with the price as `maxAmount`.
   */
  charge?: bigint;
  /**
   * The protocols the rail claims besides x402 (which every rail speaks): `l402` (`Authorization: L402`), `mpp`
   * (`Authorization: Payment`). The kit runs every scenario once per claimed protocol, against the same devnet, and
   * fails a claimed protocol the rails do not speak.
   */
  protocols?: Partial<Record<Exclude<ConformanceProtocol, 'x402'>, ConformanceProtocolSetup>>;
  /** Stops what the setup started (devnets, clients). */
  teardown?(): Promise<void>;
};

/**
 * What differs when the kit checks the rail under another protocol than x402: hooks, skips and pinned reasons
 * (each merged over the setup's own, which stay in force where this does not name the scenario).
 */
export type ConformanceProtocolSetup = {
  hooks?: ConformanceHooks;
  skip?: Partial<Record<ConformanceScenarioId, string>>;
  expectReasons?: Partial<Record<ConformanceScenarioId, string | readonly string[]>>;
};

/** What the kit calls to get a {@link RailConformanceSetup}. */
export type RailConformanceSetupFn = () => Promise<RailConformanceSetup> | RailConformanceSetup;
