/**
 * MPP `lightning`/`charge` credentials are consumed once (draft-lightning-charge-00, Settlement Procedure and
 * Preimage Confidentiality: the challenge is marked consumed atomically with the first success, a consumed challenge
 * is never accepted again, concurrent presentations of one preimage get exactly one success). The preimage is a
 * bearer secret: whoever learns it (a log, a proxy) must not buy anything with it. Attacks on the Lightning devnet:
 * the identical request replayed, the credential fired concurrently, and the consumed payment presented again as an
 * L402 token (the rail's own reusable protocol) — each refused, the handler run once, bob paid once.
 */
import { pay } from 'ln-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseL402Challenges } from '../../adapters/lightning/index';
import { startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import {
  decodePaymentRequiredHeader,
  parseMppChallenges,
  serializeMppCredential,
  type FetchLike,
  type MppChallenge,
} from '../../src/index';
import { formatL402Authorization } from '../../src/protocol/l402';
import { LN_PRICE, lightningPaywall } from '../support/lightningHarness';

const URL_ = 'http://shop.test/ln/report';
let devnet: LightningDevnet;
let fetch: FetchLike;
let runs = 0;

beforeAll(async () => {
  devnet = await startLightningDevnet();
  const server = await lightningPaywall(devnet);
  fetch = async (input, init) => {
    const res = await server.fetch(input, init);
    if (res.status === 200) runs += 1;
    return res;
  };
});
afterAll(async () => {
  await devnet?.stop();
});

const balances = () => ({ alice: devnet.channelBalance('alice'), bob: devnet.channelBalance('bob') });
const reasonOf = (res: Response) => decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '').error;

/** A fresh 402: its Payment challenge, the L402 macaroon of the same invoice, and alice's preimage for it. */
async function paidChallenge(): Promise<{ challenge: MppChallenge; macaroon: string; preimage: string }> {
  const res = await fetch(URL_);
  expect(res.status).toBe(402);
  const header = res.headers.get('WWW-Authenticate') ?? '';
  const [challenge] = parseMppChallenges(header);
  const [l402] = parseL402Challenges(header);
  if (!challenge || !l402) throw new Error('the 402 lacks a Payment or an L402 challenge');
  const invoice = String((challenge.request.methodDetails as Record<string, unknown>).invoice);
  expect(l402.invoice).toBe(invoice);
  const { secret } = await pay({ lnd: devnet.nodes.alice.lnd, request: invoice, max_fee_mtokens: '1000' });
  return { challenge, macaroon: l402.macaroon, preimage: secret };
}

const present = (challenge: MppChallenge, preimage: string) =>
  fetch(URL_, { headers: { Authorization: serializeMppCredential({ challenge, payload: { preimage } }) } });

describe('MPP lightning charge: a credential is consumed once', () => {
  it('the identical request presented again is refused (challenge_consumed): one run, bob paid once', async () => {
    const { challenge, preimage } = await paidChallenge();
    const paid = balances();
    const runsBefore = runs;
    const first = await present(challenge, preimage);
    expect(first.status).toBe(200);
    await first.body?.cancel();
    for (let i = 0; i < 3; i += 1) {
      const again = await present(challenge, preimage);
      expect(again.status).toBe(402);
      expect(again.headers.get('Payment-Receipt')).toBeNull();
      expect(again.headers.get('PAYMENT-RESPONSE')).toBeNull();
      expect(reasonOf(again)).toBe('challenge_consumed');
    }
    expect(runs - runsBefore).toBe(1);
    expect(balances()).toEqual(paid);
  });

  it('fired 6 times at once: exactly one 200, five refused, one run', async () => {
    const { challenge, preimage } = await paidChallenge();
    const paid = balances();
    const runsBefore = runs;
    const answers = await Promise.all(Array.from({ length: 6 }, () => present(challenge, preimage)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 402, 402, 402, 402, 402]);
    for (const res of answers.filter((r) => r.status === 402)) expect(reasonOf(res)).toBe('challenge_consumed');
    expect(runs - runsBefore).toBe(1);
    expect(balances()).toEqual(paid);
  });

  it('the consumed payment presented as an L402 token (same macaroon, same preimage) is not reused', async () => {
    const before = balances();
    const { challenge, macaroon, preimage } = await paidChallenge();
    const paid = balances();
    expect([before.alice - paid.alice, paid.bob - before.bob]).toEqual([LN_PRICE, LN_PRICE]);
    const runsBefore = runs;
    const first = await present(challenge, preimage);
    expect(first.status).toBe(200);
    await first.body?.cancel();
    const asL402 = await fetch(URL_, {
      headers: { Authorization: formatL402Authorization({ macaroons: [macaroon], preimage }) },
    });
    expect(asL402.status).toBe(402);
    expect(asL402.headers.get('PAYMENT-RESPONSE')).toBeNull();
    expect(runs - runsBefore).toBe(1);
    expect(balances()).toEqual(paid);
  });

  it('an L402 token that was never presented as MPP stays reusable on its route (the L402 design is unchanged)', async () => {
    const { macaroon, preimage } = await paidChallenge();
    const runsBefore = runs;
    const token = { headers: { Authorization: formatL402Authorization({ macaroons: [macaroon], preimage }) } };
    const first = await fetch(URL_, token);
    const second = await fetch(URL_, token);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('PAYMENT-RESPONSE')).toBe(first.headers.get('PAYMENT-RESPONSE'));
    expect(runs - runsBefore).toBe(2);
  });
});
