import type { PaymentRequirements, ResourceInfo } from '../protocol/schemas';

/**
 * The rail adapter contract. A rail is data plus functions: the server half quotes, verifies and settles;
 * the client half creates payments. `verify` has no side effects on any ledger; `settle` is idempotent per
 * payment. Both answer bad payments with typed results carrying a reason code and throw only for bugs and
 * infrastructure faults (as `RailUnavailableError` / `SettlementPendingError`).
 */

/** The HTTP request a payment pays for. Receipts bind to it. */
export type RequestBinding = {
  /** Upper-case HTTP method. */
  method: string;
  /** Absolute URL as the server saw it. */
  url: string;
  /** base64url SHA-256 of the request body bytes (of the empty string when there is none). */
  bodyHash: string;
};

/** A price a route asks on one rail, before the rail fills in rail-specific fields. */
export type PriceOffer = {
  /** Id of the server rail that takes this offer, e.g. `evm-eip3009`. */
  rail: string;
  /** Atomic units of `asset`. */
  amount: bigint | string;
  /** Asset (token address, mint, `msat`); the rail's default when omitted. */
  asset?: string;
  /** Who is paid; the rail's default when omitted. */
  payTo?: string;
  /** Seconds the client has to complete the payment. */
  maxTimeoutSeconds?: number;
  /** Rail-specific extra fields to merge into `extra`. */
  extra?: Record<string, unknown>;
};

/** Context for {@link ServerRail.quote}. */
export type QuoteContext = { request: RequestBinding; resource: ResourceInfo; now: number };
/** Context for {@link ServerRail.verify} and {@link ServerRail.settle}. */
export type PaymentContext = {
  request: RequestBinding;
  now: number;
  paymentId: string;
  /**
   * Settle calls this with the settlement reference (tx hash, signature) the moment it is broadcast, before
   * waiting for confirmation, so the intent is on record should the process die before it answers.
   */
  onBroadcast?: (reference: string) => Promise<void>;
  /**
   * When settling a payment left pending (a retry, or reconciliation after a restart): the reference of the
   * last broadcast on record, so a rail can look that transaction up before doing anything else.
   */
  reference?: string;
  /**
   * What the route reported the request actually used (`reportCharge`), atomic units: rails that authorize a
   * maximum (x402 `upto`) settle this amount, at most the offer's; others ignore it.
   */
  charge?: string;
};

/** The payment object of a PaymentPayload (`payload` field): rail-specific, parsed by the rail. */
export type RailPayload = Record<string, unknown>;

/** Outcome of verification. `reason` is a stable snake_case code. */
export type VerifyResult =
  | { isValid: true; payer: string; amount: string }
  | { isValid: false; reason: string; message: string; payer?: string };

/** Outcome of settlement. */
export type SettleResult =
  | {
      status: 'settled';
      /** Settlement reference: tx hash, signature, payment hash. */
      reference: string;
      payer: string;
      amount: string;
      /** Proof the rail has one of (Lightning preimage). */
      proof?: string;
    }
  | { status: 'failed'; reason: string; message: string; reference?: string }
  | { status: 'pending'; reference: string; message: string };

/** The server half of a rail. */
export interface ServerRail {
  /** Stable adapter id, e.g. `evm-eip3009`. */
  readonly id: string;
  /** True when this rail can verify and settle payments against `req`. */
  supports(req: PaymentRequirements): boolean;
  /** Fills asset, payTo, timeouts and rail extras for an offer. */
  quote(offer: PriceOffer, ctx: QuoteContext): Promise<PaymentRequirements>;
  /**
   * A stable id of the payment, unique per chain-level payment (EVM: token+from+nonce, Solana: the payer's
   * signature, Lightning: the payment hash). Replay and idempotency are keyed by it. Throws a
   * `PaymentInvalidError` when the payload is malformed.
   */
  paymentId(payload: RailPayload, req: PaymentRequirements): string;
  /** Checks a payment without moving money. */
  verify(payload: RailPayload, req: PaymentRequirements, ctx: PaymentContext): Promise<VerifyResult>;
  /** Moves the money; idempotent per payment id. */
  settle(payload: RailPayload, req: PaymentRequirements, ctx: PaymentContext): Promise<SettleResult>;
}

/** A wallet a client rail pays from. `kind` matches {@link ClientRail.walletKind}. */
export interface Wallet {
  readonly kind: string;
}

/** Context a client rail gets when it creates a payment. */
export type CreatePaymentContext = {
  resource: ResourceInfo;
  x402Version: 1 | 2;
  now: number;
  /** The extensions the 402 declared (`PaymentRequired.extensions`), e.g. `eip2612GasSponsoring` when the server submits a signed approval. */
  extensions?: Record<string, unknown>;
};

/** The client half of a rail. */
export interface ClientRail {
  /** Stable adapter id, e.g. `evm-eip3009`. */
  readonly id: string;
  /** Kind of wallet this rail pays from, e.g. `evm`. */
  readonly walletKind: string;
  /**
   * True when `createPayment` itself moves money (Lightning pays the invoice to learn the preimage), so a
   * refusal of the retry does not release the budget hold.
   */
  readonly paysOnCreate?: boolean;
  /** True when this rail can pay `req`. */
  supports(req: PaymentRequirements): boolean;
  /** Builds (and, for rails that pay first, makes) the payment; returns the PaymentPayload `payload`. */
  createPayment(req: PaymentRequirements, wallet: Wallet, ctx: CreatePaymentContext): Promise<RailPayload>;
}

/** An address a payment lets receive or move the payer's money, and in what role (`payee`, `spender`). */
export type AuthorizedAddress = { role: string; address: string };

/**
 * Optional power of a client rail: every address the payment it would create for `req` authorizes to receive or
 * move the payer's money. An offer's `payTo` is not always the only one: an EIP-2612 permit lets its spender
 * (`extra.spender`) pull the amount to anywhere. Negotiation runs the policy's payee allow and deny lists over
 * each, so a server cannot list an allowed `payTo` and a spender of its own. A rail without this power
 * authorizes `payTo` alone. Throws `PaymentInvalidError` when `req` lacks a field the rail needs.
 *
 * @example
 * authorizedAddresses: (req) => [{ role: 'payee', address: req.payTo }, { role: 'spender', address: String(req.extra.spender) }]
 */
export interface AuthorizingClientRail extends ClientRail {
  authorizedAddresses(req: PaymentRequirements): AuthorizedAddress[];
}

/** True when the client rail names the addresses its payments authorize. */
export function hasAuthorizedAddresses(rail: ClientRail): rail is AuthorizingClientRail {
  return typeof (rail as Partial<AuthorizingClientRail>).authorizedAddresses === 'function';
}

/** What a client rail found on chain for a settlement reference a server reported. */
export type SettlementCheck =
  | { status: 'confirmed' }
  /** `reason`: `not_found`, `failed`, `transfer_mismatch` (no transfer of the amount from the payer to `payTo`). */
  | { status: 'refuted'; reason: string; message: string };

/**
 * Optional power of a client rail: checks on chain that a settlement reference a server reported (a plain x402
 * server's SettleResponse `transaction`) moved exactly the offer's amount of its asset from this wallet to its
 * `payTo` (EVM: the transaction receipt holds that Transfer; Solana: the signature landed and moved it). Answers
 * undefined when the wallet has no way to read the chain, so the receipt is reported unchecked, never verified.
 *
 * @example const check = await rail.confirmSettlement({ offer, reference: settle.transaction }, wallet);
 */
export interface ConfirmingClientRail extends ClientRail {
  confirmSettlement(
    p: { offer: PaymentRequirements; reference: string },
    wallet: Wallet,
  ): Promise<SettlementCheck | undefined>;
}

/** True when the client rail can check a reported settlement on chain. */
export function canConfirmSettlement(rail: ClientRail): rail is ConfirmingClientRail {
  return typeof (rail as Partial<ConfirmingClientRail>).confirmSettlement === 'function';
}

/** An adapter offering both halves. */
export type RailAdapter = ServerRail & ClientRail;

/** True when `value` has the server half of the rail contract. */
export function isServerRail(value: unknown): value is ServerRail {
  return hasFunctions(value, ['supports', 'quote', 'paymentId', 'verify', 'settle']);
}

/** True when `value` has the client half of the rail contract. */
export function isClientRail(value: unknown): value is ClientRail {
  return (
    hasFunctions(value, ['supports', 'createPayment']) &&
    typeof (value as { walletKind?: unknown }).walletKind === 'string'
  );
}

function hasFunctions(value: unknown, names: string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.id === 'string' && names.every((n) => typeof record[n] === 'function');
}

/**
 * Declares a rail (identity function that checks the shape and keeps the literal types).
 *
 * @example
 * export const myRail = defineServerRail({ id: 'stellar-exact', supports, quote, paymentId, verify, settle });
 */
export function defineServerRail<T extends ServerRail>(rail: T): T {
  return rail;
}

/** Declares the client half of a rail. */
export function defineClientRail<T extends ClientRail>(rail: T): T {
  return rail;
}

/**
 * Optional power of a server rail: extra headers on the 402 for clients of another protocol (the Lightning
 * rail adds `WWW-Authenticate: L402 …` so plain L402 clients are served).
 */
export interface ChallengeHeadersRail extends ServerRail {
  challengeHeaders(req: PaymentRequirements): Record<string, string>;
}

/** True when the rail adds headers of its own to a 402. */
export function hasChallengeHeaders(rail: ServerRail): rail is ChallengeHeadersRail {
  return typeof (rail as Partial<ChallengeHeadersRail>).challengeHeaders === 'function';
}

/** What a rail reads out of an `Authorization` header: the offer it pays and the rail payload. */
export type AuthorizationPayment =
  | { accepted: PaymentRequirements; payload: RailPayload; challengeId: string }
  | { reason: string; message: string };

/**
 * Optional power of a server rail: it accepts payments presented in an `Authorization` header of its own
 * scheme (Lightning: `Authorization: L402 <macaroon>:<preimage>`), for clients that speak no x402. The
 * rail's own credential (the macaroon) stands in for the x402 challenge token, so the rail must check that
 * it issued it for this request's route and method.
 */
export interface AuthorizationRail extends ServerRail {
  /** Scheme names it reads, case-insensitive (e.g. `['L402', 'LSAT']`). */
  readonly authorizationSchemes: readonly string[];
  /**
   * Parses the header into the offer and payload; a rejection for a credential that is well-formed but not
   * valid here. Throws MalformedInputError for a malformed header.
   */
  readAuthorization(header: string, ctx: { request: RequestBinding; now: number }): Promise<AuthorizationPayment>;
}

/** True when the rail accepts payments in an `Authorization` header. */
export function hasAuthorizationScheme(rail: ServerRail): rail is AuthorizationRail {
  const r = rail as Partial<AuthorizationRail>;
  return Array.isArray(r.authorizationSchemes) && typeof r.readAuthorization === 'function';
}

/**
 * Optional power: a settled payment of this rail may be presented again for other requests its credential
 * still covers (L402 tokens are reusable within their caveats). The paywall then re-runs `verify` (which
 * checks the caveats) and serves the request with the original receipt instead of refusing the reuse.
 */
export interface ReusablePaymentRail extends ServerRail {
  readonly reusablePayments: true;
}

/** True when settled payments of this rail may be reused within their credential's limits. */
export function allowsReuse(rail: ServerRail): rail is ReusablePaymentRail {
  return (rail as Partial<ReusablePaymentRail>).reusablePayments === true;
}

/** A payment found already settled on the chain or node. */
export type FoundSettlement = { reference: string; payer: string; amount: string };

/**
 * Optional power: look up whether this exact payment already landed (EVM: the authorization's nonce was used
 * by a transfer; Solana: the transaction signature has a successful status), without moving money. The
 * paywall asks only when it takes over a claim of an earlier attempt that died mid-settlement, so a payment
 * that landed gets its receipt instead of being refused as spent.
 */
export interface FindSettlementRail extends ServerRail {
  findSettlement(payload: RailPayload, req: PaymentRequirements): Promise<FoundSettlement | undefined>;
}

/** True when the rail can look up an earlier settlement of a payment. */
export function canFindSettlement(rail: ServerRail): rail is FindSettlementRail {
  return typeof (rail as Partial<FindSettlementRail>).findSettlement === 'function';
}

/**
 * Optional power: the PaymentPayload extensions this rail reads (by key: `eip2612GasSponsoring` carries a signed
 * approval beside an EVM Permit2 payment), and those it declares in a 402 for its offers. The paywall and the
 * facilitator fold exactly these keys of the PaymentPayload's `extensions` into the rail payload under
 * `extensions` (replacing anything the client put there), so they stay with the payment: its settlement intent
 * keeps them and a settlement resumed after a restart sees them. A client rail that returns `extensions` in its
 * payload has them sent at the PaymentPayload's top level (`splitPayloadExtensions`).
 */
export interface PayloadExtensionsRail extends ServerRail {
  readonly payloadExtensionKeys: readonly string[];
  /** The `PaymentRequired.extensions` entries a 402 carrying `req` declares (e.g. `{ eip2612GasSponsoring: { info, schema } }`). */
  declareExtensions(req: PaymentRequirements): Record<string, unknown>;
}

/** True when the rail reads PaymentPayload extensions. */
export function readsPayloadExtensions(rail: ServerRail): rail is PayloadExtensionsRail {
  const keys = (rail as Partial<PayloadExtensionsRail>).payloadExtensionKeys;
  return Array.isArray(keys) && typeof (rail as Partial<PayloadExtensionsRail>).declareExtensions === 'function';
}

/**
 * The rail payload a rail sees: `payload` with the PaymentPayload `extensions` it reads folded in under
 * `extensions` (for a rail without the power, `payload` unchanged).
 *
 * @example foldPayloadExtensions(rail, paymentPayload.payload, paymentPayload.extensions)
 */
export function foldPayloadExtensions(
  rail: ServerRail,
  payload: RailPayload,
  extensions: Record<string, unknown> | undefined,
): RailPayload {
  if (!readsPayloadExtensions(rail)) return payload;
  const { extensions: _smuggled, ...rest } = payload;
  const picked = Object.fromEntries(
    rail.payloadExtensionKeys.filter((key) => extensions?.[key] !== undefined).map((key) => [key, extensions?.[key]]),
  );
  return Object.keys(picked).length > 0 ? { ...rest, extensions: picked } : rest;
}

/**
 * The inverse of {@link foldPayloadExtensions}: a rail payload split into the PaymentPayload's `payload` and
 * `extensions` (when it carries any).
 *
 * @example const { payload, extensions } = splitPayloadExtensions(await rail.createPayment(req, wallet, ctx));
 */
export function splitPayloadExtensions(railPayload: RailPayload): {
  payload: RailPayload;
  extensions?: Record<string, unknown>;
} {
  const { extensions, ...payload } = railPayload;
  if (typeof extensions !== 'object' || extensions === null || Array.isArray(extensions)) return { payload };
  return { payload, extensions: extensions as Record<string, unknown> };
}
