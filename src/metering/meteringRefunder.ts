/** What a refund pays back: the unused balance of a session, to the payer of its deposit. */
export type RefundRequest = {
  /** Session id (rails may put it in a memo). */
  session: string;
  /** The deposit's payer (EVM address, Solana owner); the refund's recipient where the rail can pay it. */
  payer: string;
  /** The deposit's asset (token address, mint, `msat`) and network (CAIP-2). */
  asset: string;
  network: string;
  /** Atomic units. */
  amount: bigint;
  /** A destination the client supplied (a BOLT11 invoice for exactly `amount` msat on Lightning). */
  destination?: string;
};

/** How a refund ended: sent (with its settlement reference), or refused with nothing sent (the close may be retried). */
export type RefundResult =
  | { status: 'sent'; reference: string }
  | { status: 'refused'; reason: string; message: string };

/**
 * Pays back a closed session's unused balance on one rail. The adapters provide one each
 * (`evmRefunder`, `solanaRefunder`, `lightningRefunder`). `refund` answers `refused` only when nothing
 * was sent; it throws when the outcome is unknown (the refund is then left `in_progress` and never sent
 * again automatically).
 *
 * @example const meter = metering({ …, refunds: { 'evm-eip3009': evmRefunder({ publicClient, walletClient }) } });
 */
export type MeteringRefunder = {
  /** True when the client must supply where the refund goes (`X402-Metering-Refund-To`). */
  readonly needsDestination?: boolean;
  refund(request: RefundRequest): Promise<RefundResult>;
};
