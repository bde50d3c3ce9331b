import { z } from 'zod';
import { AtomicAmountSchema, NetworkSchema } from '../../protocol/schemas';

/** A transfer a final metering receipt states: a refund of the unused balance, or the settlement of the total. */
const MeteringTransferSchema = z.object({
  amount: AtomicAmountSchema,
  status: z.enum(['sent', 'none', 'awaiting_destination', 'unsupported', 'in_progress']),
  reference: z.string().max(256).optional(),
});

/**
 * The metering part of a receipt: one call's charge drawn from a prepaid deposit (incremental receipt), or the
 * close of the session (`final`, with what was refunded). Amounts are atomic units of the deposit's asset.
 *
 * @example (await verifyReceipt(signed, jwks)).metering // { session, deposit, seq: 3, charged: '120', used: '620', remaining: '380', … }
 */
export const MeteringReceiptSchema = z.object({
  /** Metering session id. */
  session: z.string().min(1).max(128),
  /** Id of the receipt of the deposit payment that authorized the session. */
  deposit: z.string().min(1).max(128),
  /** Order of this receipt in the session (1 = the deposit call). */
  seq: z.number().int().nonnegative(),
  /** The maximum the deposit authorized. */
  authorized: AtomicAmountSchema,
  /** Charged by this call (0 on the final receipt). */
  charged: AtomicAmountSchema,
  /** Running total charged in the session. */
  used: AtomicAmountSchema,
  /** authorized − used. */
  remaining: AtomicAmountSchema,
  /** True on the receipt that closes the session. */
  final: z.boolean().optional(),
  /** Final receipt: the refund of the unused balance. */
  refund: MeteringTransferSchema.optional(),
  /** Final receipt of an authorized session (`settle: 'authorize'`): the one transfer of the total (`reference` = its transaction). */
  settlement: MeteringTransferSchema.optional(),
});

/**
 * The one receipt format every rail ends in. A superset of x402's SettleResponse: it binds the payment
 * (rail, network, asset, amount, payer, payee, settlement reference, proof) to the request it paid for
 * (method, URL, body hash), the requirements matched (hash) and the challenge, and is signed by the issuer
 * as a detached compact JWS (EdDSA) whose key is published as a JWKS.
 */
export const ReceiptSchema = z.object({
  /** Format version. */
  v: z.literal(1),
  /** Unique receipt id. */
  id: z.string().min(1).max(128),
  /** Issuer (the server's origin). */
  issuer: z.string().min(1).max(512),
  /** Rail adapter id, e.g. `evm-eip3009`. */
  rail: z.string().min(1).max(64),
  scheme: z.string().min(1).max(64),
  network: NetworkSchema,
  asset: z.string().min(1).max(256),
  amount: AtomicAmountSchema,
  /** The most the payer authorized, when the settlement moved less (x402 `upto`: `amount` is what was charged). */
  maxAmount: AtomicAmountSchema.optional(),
  payer: z.string().max(256),
  payee: z.string().min(1).max(256),
  /** Settlement reference: EVM tx hash, Solana signature, Lightning payment hash. */
  reference: z.string().min(1).max(256),
  /** Proof where the rail has one (Lightning preimage). */
  proof: z.string().max(256).optional(),
  /** The request this payment paid for. */
  request: z.object({
    method: z.string().min(1).max(16),
    url: z.string().min(1).max(4096),
    bodyHash: z.string().max(64),
  }),
  /** base64url SHA-256 of the canonical JSON of the matched PaymentRequirements. */
  requirementsHash: z.string().max(64),
  /** The challenge id the payment answered. */
  challenge: z.string().max(128),
  /** The protocol the payment came in: x402 (PAYMENT-SIGNATURE), L402, or MPP (`Authorization: Payment`). Absent on receipts from before it was recorded. */
  protocol: z.enum(['x402', 'l402', 'mpp']).optional(),
  status: z.enum(['settled', 'pending', 'failed']),
  /** ISO-8601 times. */
  issuedAt: z.string().max(40),
  settledAt: z.string().max(40).optional(),
  /** Metered usage (x402-rails/metering): this receipt draws on a prepaid deposit; see {@link MeteringReceiptSchema}. */
  metering: MeteringReceiptSchema.optional(),
});

/** An unsigned receipt. */
export type Receipt = z.infer<typeof ReceiptSchema>;

/** A receipt with its detached compact JWS (`<protected header>..<signature>`). */
export type SignedReceipt = Receipt & { signature: string };

/** Schema of a signed receipt as it travels inside PAYMENT-RESPONSE `extensions`. */
export const SignedReceiptSchema = ReceiptSchema.extend({ signature: z.string().min(1).max(1024) });

/** Key under which a signed receipt travels in SettleResponse `extensions`. */
export const RECEIPT_EXTENSION_KEY = 'x402-rails/receipt';

/** Well-known path where an issuer publishes its receipt-signing JWKS. */
export const RECEIPT_JWKS_PATH = '/.well-known/x402-rails/jwks.json';
