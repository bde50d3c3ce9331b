/**
 * Attacks on MPP (`Authorization: Payment`, `evm`/`charge`) at our paywall, on anvil. An MPP credential goes
 * through the same claim → verify → handler → settle-once flow as x402, and its challenge is bound like an x402
 * offer: id = HMAC over every challenge parameter + the request's method and URL, the EIP-3009 nonce =
 * keccak256(id ‖ realm). Each attack must be refused with its reason, the handler must not run, and no money may
 * move (balances checked on chain); the honest payment moves exactly one price.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip3009Client, mppChallengeHash } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import {
  parseMppChallenges,
  parseMppReceipt,
  serializeMppCredential,
  type FetchLike,
  type MppChallenge,
  type MppCredential,
} from '../../src/index';
import { PRICE, walletFor } from '../support/evmHarness';
import { flowPaywall, payerPayeeBalances, reasonOf } from './support/evmFlow';

const BASE = 'http://shop.test';
const routes = {
  'GET /a': { accepts: [{ rail: 'evm-eip3009', amount: PRICE, maxTimeoutSeconds: 120 }] },
  'GET /b': { accepts: [{ rail: 'evm-eip3009', amount: PRICE, maxTimeoutSeconds: 120 }] },
};
let devnet: EvmDevnet;
let clock = Date.now();
let runs = 0;
let fetch: FetchLike;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  ({ fetch } = await flowPaywall(
    devnet,
    routes,
    async () => {
      runs += 1;
      return new Response('paid content');
    },
    { now: () => clock, replay: { max: 0 } },
  ));
});
afterAll(async () => {
  await devnet?.stop();
});

const client = () => evmEip3009Client({ domains: [devnet.token] });

async function challengeOf(path: string): Promise<MppChallenge> {
  const res = await fetch(`${BASE}${path}`);
  expect(res.status).toBe(402);
  const [challenge] = parseMppChallenges(res.headers.get('WWW-Authenticate') ?? '');
  if (!challenge) throw new Error('no Payment challenge');
  return challenge;
}

/** An honest credential for `challenge` (as mppx writes it), optionally signed over an altered offer. */
async function credentialFor(
  challenge: MppChallenge,
  alter: { amount?: string; payTo?: string } = {},
): Promise<MppCredential> {
  const rail = client();
  const offer = rail.mpp.offer(challenge);
  if (!offer) throw new Error('not an evm charge');
  const { payload, source } = await rail.mpp.createCredential(
    challenge,
    { ...offer, ...alter },
    walletFor(devnet, 'payer'),
    { resource: { url: BASE }, x402Version: 2, now: clock },
  );
  return { challenge, payload, ...(source ? { source } : {}) };
}

const present = (path: string, credential: MppCredential) =>
  fetch(`${BASE}${path}`, { headers: { Authorization: serializeMppCredential(credential) } });

/** Presents the credential and expects a refusal with `reason`, the handler not run and balances unchanged. */
async function refused(path: string, credential: MppCredential, reason: string, status = 402): Promise<void> {
  const before = await payerPayeeBalances(devnet);
  const runsBefore = runs;
  const res = await present(path, credential);
  expect(res.status).toBe(status);
  expect(await reasonOf(res)).toBe(reason);
  expect(runs).toBe(runsBefore);
  expect(await payerPayeeBalances(devnet)).toEqual(before);
}

describe('MPP evm charge: attacks refused, balances unchanged', () => {
  it('the honest credential is served once (+PRICE); the same credential replayed is refused (409) and moves nothing more', async () => {
    clock = Date.now();
    const credential = await credentialFor(await challengeOf('/a'));
    const before = await payerPayeeBalances(devnet);
    const res = await present('/a', credential);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('paid content');
    expect(parseMppReceipt(res.headers.get('Payment-Receipt') ?? '')).toMatchObject({
      method: 'evm',
      status: 'success',
    });
    const after = await payerPayeeBalances(devnet);
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.payee - before.payee).toBe(PRICE);
    expect(runs).toBe(1);
    // Replayed (replay.max 0: not even a lost answer's resend is served again), and for the other route.
    await refused('/a', credential, 'replay_limit_reached', 409);
    await refused('/b', credential, 'challenge_invalid');
    expect(await payerPayeeBalances(devnet)).toEqual(after);
  });

  it('a credential made for another route, or another method, is refused (challenge_invalid)', async () => {
    clock = Date.now();
    await refused('/b', await credentialFor(await challengeOf('/a')), 'challenge_invalid');
    const credential = await credentialFor(await challengeOf('/a'));
    const before = await payerPayeeBalances(devnet);
    const res = await fetch(`${BASE}/a`, {
      method: 'POST',
      headers: { Authorization: serializeMppCredential(credential) },
    });
    // POST /a is not a paid route: the handler serves it free, the credential is never settled.
    expect(res.status).toBe(200);
    expect(await payerPayeeBalances(devnet)).toEqual(before);
  });

  it('an authorization signed for another challenge, presented with this one, is refused (challenge_mismatch)', async () => {
    clock = Date.now();
    const signedForFirst = await credentialFor(await challengeOf('/a'));
    const second = await challengeOf('/a');
    expect(signedForFirst.payload.nonce).not.toBe(mppChallengeHash(second));
    await refused('/a', { ...signedForFirst, challenge: second }, 'challenge_mismatch');
  });

  it('an expired challenge is refused (challenge_expired); extending its expires breaks the id (challenge_invalid)', async () => {
    clock = Date.now();
    const credential = await credentialFor(await challengeOf('/a'));
    clock += 121_000;
    await refused('/a', credential, 'challenge_expired');
    const extended = {
      ...credential,
      challenge: { ...credential.challenge, expires: new Date(clock + 60_000).toISOString() },
    };
    await refused('/a', extended, 'challenge_invalid');
    clock = Date.now();
  });

  it('an authorization for less than the price, or to another recipient, is refused (amount_mismatch, payee_mismatch)', async () => {
    clock = Date.now();
    await refused(
      '/a',
      await credentialFor(await challengeOf('/a'), { amount: (PRICE / 10n).toString() }),
      'amount_mismatch',
    );
    await refused(
      '/a',
      await credentialFor(await challengeOf('/a'), { payTo: devnet.accounts.payer2.address }),
      'payee_mismatch',
    );
  });

  it('a tampered request (lower amount, another recipient) or opaque offer is refused (challenge_invalid), even signed to match', async () => {
    clock = Date.now();
    const cheaper = await challengeOf('/a');
    const cheap = { ...cheaper, request: { ...cheaper.request, amount: '1' } };
    await refused('/a', await credentialFor(cheap), 'challenge_invalid');
    const redirected = await challengeOf('/a');
    const elsewhere = { ...redirected, request: { ...redirected.request, recipient: devnet.accounts.payer2.address } };
    await refused('/a', await credentialFor(elsewhere), 'challenge_invalid');
    const opaque = await challengeOf('/a');
    await refused(
      '/a',
      await credentialFor({ ...opaque, opaque: `${opaque.opaque?.slice(0, -2)}AA` }),
      'challenge_invalid',
    );
  });

  it('a credential whose source names another payer is refused (source_mismatch); garbage is a 400, never a 500', async () => {
    clock = Date.now();
    const runsBefore = runs;
    const credential = await credentialFor(await challengeOf('/a'));
    await refused(
      '/a',
      { ...credential, source: `did:pkh:eip155:${devnet.chainId}:${devnet.accounts.payer2.address}` },
      'source_mismatch',
    );
    for (const header of [
      'Payment',
      'Payment !!!',
      `Payment ${Buffer.from('{"challenge":1}').toString('base64url')}`,
      `Payment ${'A'.repeat(40_000)}`,
    ]) {
      const res = await fetch(`${BASE}/a`, { headers: { Authorization: header } });
      expect([400, 402]).toContain(res.status);
      if (header !== 'Payment') expect(res.status).toBe(400);
    }
    expect(runs).toBe(runsBefore);
  });
});
