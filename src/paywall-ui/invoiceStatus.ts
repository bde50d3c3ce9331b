/**
 * How the paywall page learns that a Lightning invoice it shows was paid by someone (a phone wallet scanning
 * the QR code): it asks the server with the L402 macaroon the 402 gave it. The macaroon is the proof of being
 * the one who was challenged, so only that holder learns the preimage, which turns the macaroon into the
 * `Authorization: L402 <macaroon>:<preimage>` credential. A stranger who saw the invoice (its payment hash)
 * on a screen learns nothing: without the macaroon, the server answers `invalid`.
 */

/** What the server says of the invoice behind a macaroon. `paid` carries the preimage. */
export type InvoiceStatus =
  | { state: 'paid'; preimage: string }
  | { state: 'open' }
  | { state: 'expired' }
  | { state: 'unknown' }
  | { state: 'invalid' };

/**
 * A rail that can report the invoice behind one of its L402 macaroons (the Lightning rail of
 * `x402-rails/lightning` is one). Answers `invalid` for a macaroon it did not issue.
 */
export type InvoiceStatusSource = {
  invoiceStatus(macaroon: string, now: number): Promise<InvoiceStatus>;
};

/** True when `value` can report invoice states (see {@link InvoiceStatusSource}). */
export function hasInvoiceStatus(value: unknown): value is InvoiceStatusSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<InvoiceStatusSource>).invoiceStatus === 'function'
  );
}
