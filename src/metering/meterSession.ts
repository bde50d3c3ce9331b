import { z } from 'zod';
import { SignedReceiptSchema, type Receipt, type SignedReceipt } from '../core/receipt/receipt';
import { NetworkSchema } from '../protocol/schemas';
import type { MeteringRefusal } from './meteringHeaders';
import { parseJsonAs } from '../core/parseJsonAs';

/** Where the refund of a closed session stands (see the metering README section). */
export type RefundStatus = 'none' | 'unsupported' | 'awaiting_destination' | 'in_progress' | 'sent';

/** The refund of a session's unused balance. */
export type RefundState = { status: RefundStatus; amount: bigint; reference?: string };

/**
 * A metering session: the deposit that authorized it (what the receipts link to) and its running balance.
 * `authorized − used − reserved` is what new calls may still reserve.
 */
export type MeterSession = {
  id: string;
  route: string;
  /** Deposit receipt fields every incremental receipt repeats. */
  issuer: string;
  rail: string;
  scheme: string;
  network: Receipt['network'];
  asset: string;
  payer: string;
  payee: string;
  depositReceipt: string;
  depositReference: string;
  requirementsHash: string;
  challenge: string;
  /** The session token handed to the client. */
  token: string;
  authorized: bigint;
  used: bigint;
  /** Held by calls being served now. */
  reserved: bigint;
  /** Receipts issued so far. */
  seq: number;
  expiresAt: number;
  closed: boolean;
  /**
   * Set on a session opened by an authorization (`settle: 'authorize'`): the rail payload (JSON) the close settles
   * the total from. Its `refund` state then tracks that settlement (`amount` = the total, `reference` its transaction).
   */
  authorization?: string;
  refund?: RefundState;
  finalReceipt?: SignedReceipt;
};

/** Outcome of a reservation. */
export type ReserveResult =
  | { ok: true }
  | {
      ok: false;
      reason: Extract<
        MeteringRefusal,
        'metering_unknown' | 'metering_expired' | 'metering_closed' | 'metering_exhausted'
      >;
      remaining?: bigint;
    };

/** A call's charge committed: its receipt's order, the running total and what is left of the authorization. */
export type CommitResult = { seq: number; used: bigint; remaining: bigint };

/**
 * The rule of reserving a call's maximum cost (memory and SQLite stores run it atomically): unknown → closed →
 * expired → exhausted (the free balance does not cover `amount`) → reserved. Pure.
 *
 * @example const { result, next } = reserveDraw(session, 5_000n, Date.now());
 */
export function reserveDraw(
  session: MeterSession | undefined,
  amount: bigint,
  now: number,
): { result: ReserveResult; next?: MeterSession } {
  if (session === undefined) return { result: { ok: false, reason: 'metering_unknown' } };
  if (session.closed) return { result: { ok: false, reason: 'metering_closed' } };
  if (session.expiresAt <= now) return { result: { ok: false, reason: 'metering_expired' } };
  const free = session.authorized - session.used - session.reserved;
  if (free < amount)
    return { result: { ok: false, reason: 'metering_exhausted', remaining: session.authorized - session.used } };
  return { result: { ok: true }, next: { ...session, reserved: session.reserved + amount } };
}

/**
 * Ends a reservation: charges `charged` (at most what was reserved) and frees the rest. Runs on closed
 * sessions too, so a call in flight at close is still accounted. Pure.
 */
export function commitDraw(
  session: MeterSession,
  reserved: bigint,
  charged: bigint,
): { result: CommitResult; next: MeterSession } {
  const charge = charged < 0n ? 0n : charged > reserved ? reserved : charged;
  const next = { ...session, reserved: session.reserved - reserved, used: session.used + charge, seq: session.seq + 1 };
  return { result: { seq: next.seq, used: next.used, remaining: next.authorized - next.used }, next };
}

/** Whether a refund update applies: `expected` lists the statuses it may replace (undefined = none yet). */
export function refundApplies(session: MeterSession, expected: ReadonlyArray<RefundStatus | undefined>): boolean {
  return expected.includes(session.refund?.status);
}

/** A session with its refund state replaced (or cleared) and, when given, its final receipt. Pure. */
export function withRefund(
  session: MeterSession,
  refund: RefundState | undefined,
  finalReceipt?: SignedReceipt,
): MeterSession {
  const { refund: _previous, ...rest } = session;
  return { ...rest, ...(refund ? { refund } : {}), ...(finalReceipt ? { finalReceipt } : {}) };
}

const AMOUNT = z.string().regex(/^[0-9]{1,78}$/);

/** JSON form of a session (amounts as decimal strings), for stores that keep text. */
const StoredSessionSchema = z.object({
  id: z.string(),
  route: z.string(),
  issuer: z.string(),
  rail: z.string(),
  scheme: z.string(),
  network: NetworkSchema,
  asset: z.string(),
  payer: z.string(),
  payee: z.string(),
  depositReceipt: z.string(),
  depositReference: z.string(),
  requirementsHash: z.string(),
  challenge: z.string(),
  token: z.string(),
  authorized: AMOUNT,
  used: AMOUNT,
  reserved: AMOUNT,
  seq: z.number().int().nonnegative(),
  expiresAt: z.number(),
  closed: z.boolean(),
  authorization: z
    .string()
    .max(64 * 1024)
    .optional(),
  refund: z
    .object({
      status: z.enum(['none', 'unsupported', 'awaiting_destination', 'in_progress', 'sent']),
      amount: AMOUNT,
      reference: z.string().optional(),
    })
    .optional(),
  finalReceipt: SignedReceiptSchema.optional(),
});

/** A session as JSON text. */
export function sessionToJson(session: MeterSession): string {
  const { refund, ...rest } = session;
  return JSON.stringify({
    ...rest,
    authorized: session.authorized.toString(),
    used: session.used.toString(),
    reserved: session.reserved.toString(),
    ...(refund ? { refund: { ...refund, amount: refund.amount.toString() } } : {}),
  });
}

/** Parses a session stored by {@link sessionToJson}; undefined when it is not one. */
export function sessionFromJson(text: string): MeterSession | undefined {
  const stored = parseJsonAs(StoredSessionSchema, text);
  if (!stored) return undefined;
  const { refund, finalReceipt, ...s } = stored;
  return {
    ...s,
    authorized: BigInt(s.authorized),
    used: BigInt(s.used),
    reserved: BigInt(s.reserved),
    ...(refund
      ? {
          refund: {
            status: refund.status,
            amount: BigInt(refund.amount),
            ...(refund.reference !== undefined ? { reference: refund.reference } : {}),
          },
        }
      : {}),
    ...(finalReceipt ? { finalReceipt } : {}),
  };
}
