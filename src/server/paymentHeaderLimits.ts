import { MalformedInputError, errorCodes } from '../core/errors';
import { MAX_HEADER_BYTES } from '../protocol/jsonCodec';
import { L402_MAX_HEADER_LENGTH } from '../protocol/l402';
import { MPP_MAX_HEADER_LENGTH } from '../protocol/mpp/encoding';
import type { PaymentSource } from './paymentFlow';

/** The most characters read of a payment header, by where it came from: the decoders' own bounds. */
export const PAYMENT_HEADER_LIMITS = {
  x402: MAX_HEADER_BYTES,
  authorization: L402_MAX_HEADER_LENGTH,
  mpp: MPP_MAX_HEADER_LENGTH,
} as const;

/**
 * Refuses a payment header longer than its decoder reads (400, `PROTOCOL__HEADER__TOO_LARGE`), so the
 * paywall answers before it reads or hashes the request body.
 *
 * @example refuseOversizedPaymentHeader({ kind: 'x402', header: request.headers.get('PAYMENT-SIGNATURE')! })
 */
export function refuseOversizedPaymentHeader(source: Pick<PaymentSource, 'kind' | 'header'>): void {
  const limit = PAYMENT_HEADER_LIMITS[source.kind];
  if (source.header.length <= limit) return;
  const header = source.kind === 'x402' ? 'PAYMENT-SIGNATURE' : 'Authorization';
  throw new MalformedInputError(
    errorCodes.HEADER_TOO_LARGE,
    `The ${header} header is ${source.header.length} characters; at most ${limit} are read.`,
    {
      details: { header, size: source.header.length, limit },
    },
  );
}
