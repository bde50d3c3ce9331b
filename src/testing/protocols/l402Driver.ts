import { allowsReuse, hasAuthorizationScheme } from '../../core/rail';
import type { PaymentOutcome } from '../../client/paymentOutcome';
import { RECEIPT_EXTENSION_KEY, SignedReceiptSchema } from '../../core/receipt/receipt';
import { decodePaymentResponseHeader, headerNames } from '../../protocol/headers';
import { formatL402Authorization, parseL402Challenges } from '../../protocol/l402';
import { check } from '../conformanceFailure';
import { x402Driver } from './x402Driver';
import type { ProtocolDriver, ProtocolDriverParameters } from './types';

/**
 * L402 (`WWW-Authenticate: L402 macaroon=…, invoice=…`): the offer is the x402 offer of the same 402, which must
 * carry the invoice and macaroon the L402 challenge names; the payment is the rail's (preimage + macaroon),
 * presented as `Authorization: L402 <macaroon>:<preimage>`. payingFetch speaks x402 and MPP, so the kit is the
 * plain L402 client here: it pays the challenge's invoice and presents the token by hand.
 */
export function l402Driver(parameters: ProtocolDriverParameters): ProtocolDriver {
  const { setup } = parameters;
  const x402 = x402Driver(parameters);
  const driver: ProtocolDriver = {
    id: 'l402',
    assertSpoken() {
      check(
        hasAuthorizationScheme(setup.server) &&
          setup.server.authorizationSchemes.some((s) => s.toUpperCase() === 'L402'),
        `The server rail ${setup.server.id} does not read L402 Authorization headers.`,
      );
    },
    read(res) {
      const header = res.headers.get(headerNames.wwwAuthenticate) ?? '';
      const l402 = parseL402Challenges(header)[0];
      check(l402 !== undefined, 'The 402 carries no WWW-Authenticate L402 challenge.', { wwwAuthenticate: header });
      const offer = x402.read(res);
      check(
        String(offer.extra.invoice).toLowerCase() === l402.invoice && offer.extra.macaroon === l402.macaroon,
        'The L402 challenge must name the invoice and macaroon of the offer beside it.',
      );
      return offer;
    },
    pay: x402.pay,
    present(_accepted, payload) {
      const { macaroon, preimage } = payload;
      // A payload without a token is presented as an unreadable credential: the server must answer 400.
      if (typeof macaroon !== 'string' || typeof preimage !== 'string') return driver.garbage;
      return { [headerNames.authorization]: formatL402Authorization({ macaroons: [macaroon], preimage }) };
    },
    garbage: { [headerNames.authorization]: 'L402 %%%:not-a-preimage' },
    async payRequest(fetch, wallet, url, body) {
      const started = Date.now();
      const init = { method: 'POST', body, headers: { 'Content-Type': 'application/json' } };
      const first = await fetch(url, init);
      if (first.status !== 402) return { res: first, outcome: undefined };
      const offer = driver.read(first);
      await first.body?.cancel();
      const payload = await driver.pay(offer, wallet, Date.now());
      const res = await fetch(url, { ...init, headers: { ...init.headers, ...driver.present(offer, payload, url) } });
      const header = res.headers.get(headerNames.paymentResponse);
      if (header === null) return { res, outcome: undefined };
      const settleResponse = decodePaymentResponseHeader(header);
      const signed = SignedReceiptSchema.safeParse(settleResponse.extensions?.[RECEIPT_EXTENSION_KEY]);
      const outcome: PaymentOutcome = {
        rail: setup.client.id,
        offer,
        x402Version: 2,
        settleResponse,
        ...(signed.success
          ? { receipt: signed.data, signedReceipt: signed.data, receiptSource: 'server' as const }
          : { receiptError: new Error('PAYMENT-RESPONSE carries no signed receipt.') }),
        elapsedMs: Date.now() - started,
      };
      return { res, outcome };
    },
    consumeOnce: () => false,
    reusable: () => allowsReuse(setup.server),
  };
  return driver;
}
