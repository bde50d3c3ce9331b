import { allowsReuse, splitPayloadExtensions } from '../../core/rail';
import { payingFetch } from '../../client/payingFetch';
import { receiptOf } from '../../client/paymentOutcome';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader, headerNames } from '../../protocol/headers';
import { check } from '../conformanceFailure';
import type { ProtocolDriver, ProtocolDriverParameters } from './types';

/**
 * x402 v2: the offer is PAYMENT-REQUIRED's first entry, the payment a PAYMENT-SIGNATURE echoing it (extensions a
 * client rail returned with its payload at the PaymentPayload's top, as payingFetch sends them); paid by payingFetch.
 */
export function x402Driver({ setup, origin }: ProtocolDriverParameters): ProtocolDriver {
  // The PaymentRequired extensions of the last 402 (e.g. `eip2612GasSponsoring`): client rails read them to pay.
  let declared: Record<string, unknown> | undefined;
  return {
    id: 'x402',
    assertSpoken: () => undefined,
    read(res) {
      const header = res.headers.get(headerNames.paymentRequired);
      check(header !== null, 'The 402 carries no PAYMENT-REQUIRED header.');
      const required = decodePaymentRequiredHeader(header);
      declared = required.extensions;
      const first = required.accepts[0];
      check(first !== undefined, 'The 402 offers nothing: the rail could not quote the price.');
      check(setup.client.supports(first), "The client rail does not support the server rail's quote.", {
        offer: first,
      });
      return first;
    },
    pay: (offer, wallet, now) =>
      setup.client.createPayment(offer, wallet, {
        resource: { url: origin },
        x402Version: 2,
        now,
        ...(declared ? { extensions: declared } : {}),
      }),
    present(accepted, railPayload, url) {
      const { payload, extensions } = splitPayloadExtensions(railPayload);
      return {
        [headerNames.paymentSignature]: encodePaymentSignatureHeader({
          x402Version: 2,
          resource: { url },
          accepted,
          payload,
          ...(extensions ? { extensions } : {}),
        }),
      };
    },
    garbage: { [headerNames.paymentSignature]: '%%%not-base64%%%' },
    async payRequest(fetch, wallet, url, body) {
      const pay = payingFetch(fetch, { adapters: [setup.client], wallets: [wallet], protocols: ['x402'] });
      const res = await pay(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
      return { res, outcome: receiptOf(res) };
    },
    consumeOnce: () => false,
    reusable: () => allowsReuse(setup.server),
  };
}
