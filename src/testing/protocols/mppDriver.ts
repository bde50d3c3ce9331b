import { speaksMppClient, speaksMppServer } from '../../core/mppRail';
import { payingFetch } from '../../client/payingFetch';
import { receiptOf } from '../../client/paymentOutcome';
import { readMppOffers, type MppOffer } from '../../client/mppOffers';
import { headerNames } from '../../protocol/headers';
import { serializeMppCredential } from '../../protocol/mpp/mppCredential';
import type { PaymentRequirements } from '../../protocol/schemas';
import { check } from '../conformanceFailure';
import type { ProtocolDriver, ProtocolDriverParameters } from './types';

/**
 * MPP (`WWW-Authenticate: Payment`): the offer is the client rail's reading of the 402's first Payment challenge
 * it can pay, the payment the credential payload its MPP method makes for that challenge, presented as
 * `Authorization: Payment` echoing the challenge; paid by payingFetch with `protocols: ['mpp']`. An altered copy
 * of an offer (`{ ...offer, amount }`) keeps its `extra` object, which is how its challenge is found again; a
 * payment for an offer no challenge stands for (a hook's own quote) is the rail's x402 payload.
 */
export function mppDriver({ setup, origin }: ProtocolDriverParameters): ProtocolDriver {
  const { server, client } = setup;
  const challenges = new WeakMap<object, MppOffer>();
  const challengeOf = (offer: PaymentRequirements) => challenges.get(offer) ?? challenges.get(offer.extra);
  return {
    id: 'mpp',
    assertSpoken() {
      check(speaksMppServer(server), `The server rail ${server.id} does not speak MPP (it has no \`mpp\` method).`);
      check(speaksMppClient(client), `The client rail ${client.id} does not speak MPP (it has no \`mpp\` method).`);
    },
    read(res) {
      const first = readMppOffers(res, [client])[0];
      check(first !== undefined, 'The 402 carries no Payment challenge the client rail can pay.', {
        wwwAuthenticate: res.headers.get(headerNames.wwwAuthenticate),
      });
      challenges.set(first.offer, first);
      challenges.set(first.offer.extra, first);
      return first.offer;
    },
    async pay(offer, wallet, now) {
      const ctx = { resource: { url: origin }, x402Version: 2 as const, now };
      const mpp = challengeOf(offer);
      if (!mpp || !speaksMppClient(client)) return client.createPayment(offer, wallet, ctx);
      return (await client.mpp.createCredential(mpp.challenge, offer, wallet, ctx)).payload;
    },
    present(accepted, payload) {
      const mpp = challengeOf(accepted);
      check(mpp !== undefined, 'The kit presented an MPP payment for an offer no Payment challenge stands for.');
      return { [headerNames.authorization]: serializeMppCredential({ challenge: mpp.challenge, payload }) };
    },
    garbage: { [headerNames.authorization]: 'Payment %%%not-base64url%%%' },
    async payRequest(fetch, wallet, url, body) {
      const pay = payingFetch(fetch, { adapters: [client], wallets: [wallet], protocols: ['mpp'] });
      const res = await pay(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
      return { res, outcome: receiptOf(res) };
    },
    consumeOnce: () => speaksMppServer(server) && server.mpp.consumeOnce === true,
    reusable: () => false,
  };
}
