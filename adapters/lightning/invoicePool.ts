import { RailUnavailableError } from '../../src/index';
import { LIGHTNING_RAIL_ID } from './invoiceState';

/** An invoice made on the node: its payment hash, BOLT11 request, when it was made and when it expires (node clock, ms). */
export type MadeInvoice = { id: string; request: string; madeAtMs: number; expiresAtMs: number };

/** Options of {@link invoicePool}. */
export type InvoicePoolParameters = {
  /** Most invoices outstanding at once: made (handed out or ready), not yet paid, not yet expired. */
  maxOutstanding: number;
  /** Invoices kept made ahead per price and request once that request comes back (0: none made ahead). */
  ready: number;
  /** Most (price, request) keys with ready invoices; the least recently asked is forgotten first (default 64). */
  maxKeys?: number;
  /** Clock of the node's invoice expiry (default `Date.now`). */
  now?: () => number;
};

/** What the pool holds now, for a status page and tests. */
export type InvoicePoolStats = {
  /** Made, not paid, not expired: what counts against the cap. */
  outstanding: number;
  /** Made ahead and not handed out yet. */
  ready: number;
  /** Being made right now. */
  making: number;
  /** Made while a request waited (the pool had none ready). */
  madeOnDemand: number;
  /** Made ahead, in the background. */
  madeAhead: number;
  /** Challenges answered without a Lightning offer because the cap was reached. */
  capped: number;
};

/** The pool of a Lightning server rail: see {@link invoicePool}. */
export type InvoicePool = {
  /**
   * An invoice for `key` handed out to exactly one challenge: a ready one when the pool has one (no node call on
   * the challenge path), else one made now with `make`. Throws {@link InvoiceCapReachedError} (503) when the cap
   * of outstanding invoices is reached.
   */
  take(key: string, make: () => Promise<MadeInvoice>): Promise<MadeInvoice>;
  /** The invoice was paid: it no longer counts against the cap. */
  paid(paymentHash: string): void;
  stats(): InvoicePoolStats;
};

/**
 * The rail's offer was left out because this server has as many unpaid invoices outstanding as it allows (an
 * unpaid flood): 503 for a Lightning-only route, the other rails' offers otherwise. Details: `reason: 'invoice_cap_reached'`.
 */
export class InvoiceCapReachedError extends RailUnavailableError {
  override name = 'InvoiceCapReachedError';
  constructor(limit: number) {
    super(
      `This server has ${limit} unpaid Lightning invoices outstanding, its limit; pay on another rail or retry when some have expired.`,
      {
        rail: LIGHTNING_RAIL_ID,
        details: { reason: 'invoice_cap_reached', limit },
      },
    );
  }
}

const PRUNE_EVERY_MS = 1_000;
/** A ready invoice is handed out only while at least half of its life is left (the client needs time to pay). */
const usableLife = (invoice: MadeInvoice, at: number) =>
  2 * (invoice.expiresAtMs - at) >= invoice.expiresAtMs - invoice.madeAtMs;

/**
 * Bounds what unpaid requests cost a Lightning server: every 402 needs an invoice, and each one lives in the node's
 * invoice store. At most `maxOutstanding` invoices are outstanding (made and neither paid nor expired), so a flood of
 * unpaid requests adds at most that many invoices per invoice lifetime; past it the Lightning offer is left out
 * ({@link InvoiceCapReachedError}). Requests that come back (the same price and request twice) get invoices made
 * ahead, in the background, so their challenge makes no node call. Each invoice is handed out once, never to two
 * clients; expired ones are dropped, paid ones stop counting.
 *
 * @example const pool = invoicePool({ maxOutstanding: 1_000, ready: 2 });
 * const invoice = await pool.take(`${amount}|${descriptionHash}`, () => makeInvoice());
 */
export function invoicePool(parameters: InvoicePoolParameters): InvoicePool {
  const now = parameters.now ?? Date.now;
  const maxKeys = parameters.maxKeys ?? 64;
  /** Payment hash → expiry (ms) of every invoice made and neither paid nor expired. */
  const outstanding = new Map<string, number>();
  /** Keys by recency of use (a Map keeps insertion order): how often asked, what is ready, what is being made. */
  const keys = new Map<string, { hits: number; ready: MadeInvoice[]; refilling: number }>();
  let making = 0;
  let lastPrune = 0;
  const counts = { madeOnDemand: 0, madeAhead: 0, capped: 0 };

  const full = () => outstanding.size + making >= parameters.maxOutstanding;
  const usable = (invoice: MadeInvoice, at: number) => outstanding.has(invoice.id) && usableLife(invoice, at);

  function prune(at: number): void {
    if (at - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = at;
    for (const [id, expiresAt] of outstanding) if (expiresAt <= at) outstanding.delete(id);
    for (const entry of keys.values()) entry.ready = entry.ready.filter((invoice) => usable(invoice, at));
  }

  function touch(key: string) {
    const entry = keys.get(key) ?? { hits: 0, ready: [], refilling: 0 };
    keys.delete(key);
    keys.set(key, entry);
    entry.hits++;
    // A forgotten key's ready invoices stay outstanding (counted) until they expire: never handed out, never paid.
    while (keys.size > maxKeys) keys.delete(keys.keys().next().value ?? key);
    return entry;
  }

  function refill(
    key: string,
    entry: { ready: MadeInvoice[]; refilling: number },
    make: () => Promise<MadeInvoice>,
  ): void {
    while (entry.ready.length + entry.refilling < parameters.ready && !full()) {
      entry.refilling++;
      making++;
      make()
        .then((invoice) => {
          outstanding.set(invoice.id, invoice.expiresAtMs);
          counts.madeAhead++;
          if (keys.get(key) === entry) entry.ready.push(invoice);
        })
        .catch(() => undefined) // the node could not make one now: the next challenge makes it on demand
        .finally(() => {
          entry.refilling--;
          making--;
        });
    }
  }

  return {
    async take(key, make) {
      const at = now();
      prune(at);
      const entry = touch(key);
      let invoice: MadeInvoice | undefined;
      while (!invoice && entry.ready.length > 0) {
        const next = entry.ready.shift();
        if (next && usable(next, at)) invoice = next;
      }
      if (!invoice) {
        if (full()) {
          counts.capped++;
          throw new InvoiceCapReachedError(parameters.maxOutstanding);
        }
        making++;
        try {
          invoice = await make();
        } finally {
          making--;
        }
        outstanding.set(invoice.id, invoice.expiresAtMs);
        counts.madeOnDemand++;
      }
      // Made ahead only for requests that come back: a flood of distinct requests costs one invoice each, no more.
      if (entry.hits >= 2) refill(key, entry, make);
      return invoice;
    },
    paid(paymentHash) {
      outstanding.delete(paymentHash);
    },
    stats() {
      let ready = 0;
      for (const entry of keys.values()) ready += entry.ready.length;
      return { outstanding: outstanding.size, ready, making, ...counts };
    },
  };
}
